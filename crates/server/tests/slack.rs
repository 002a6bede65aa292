//! The Slack `/ask` command and clicks on a clarification's option buttons against a real
//! server on a loopback socket, driven by a simulated Slack that signs its requests itself (as
//! Slack documents it, independently of quarry-slack) and a local receiver standing in for
//! `response_url`.

mod common;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{TestState, run, settings};
use hmac::{Hmac, KeyInit, Mac};
use quarry_settings::{ApiToken, Settings};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Sha256;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
/// Where the receiver takes a slash command's replies.
const COMMAND_RESPONSE_PATH: &str = "/commands/T0001/1234/abcd";
/// Where the receiver takes a button click's replies.
const ACTION_RESPONSE_PATH: &str = "/actions/T0001/5678/efgh";
/// Where the receiver takes messages sent with the bot token.
const POST_MESSAGE_PATH: &str = "/api/chat.postMessage";

/// Slack as seen from quarry: it signs slash commands and receives answers at response_url.
struct SimulatedSlack {
    /// The quarry server, `http://127.0.0.1:PORT`.
    base: String,
    /// The stand-in for Slack's response_url.
    receiver: MockServer,
    http: reqwest::Client,
    server: TestState,
}

impl SimulatedSlack {
    /// A quarry server with Slack set up (unless `configure` says otherwise), API tokens
    /// required, and a response_url receiver; all on loopback.
    async fn start(configure: impl FnOnce(&mut Settings)) -> Self {
        Self::start_with(configure, TestState::new).await
    }

    /// [`SimulatedSlack::start`] on the state `open` makes of the settings (e.g. a server
    /// with a chat model).
    async fn start_with<Open, Opened>(configure: impl FnOnce(&mut Settings), open: Open) -> Self
    where
        Open: FnOnce(Settings) -> Opened,
        Opened: std::future::Future<Output = TestState>,
    {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let receiver = MockServer::start().await;
        for response_path in [COMMAND_RESPONSE_PATH, ACTION_RESPONSE_PATH] {
            Mock::given(method("POST"))
                .and(path(response_path))
                .respond_with(ResponseTemplate::new(200))
                .mount(&receiver)
                .await;
        }
        // Slack's Web API: chat.postMessage with a bot token.
        Mock::given(method("POST"))
            .and(path(POST_MESSAGE_PATH))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true, "ts": "1.2"})))
            .mount(&receiver)
            .await;
        let mut settings = settings();
        settings.server.slack.api_base_url = format!("{}/api", receiver.uri());
        settings.server.public_base_url = format!("{base}/");
        settings.server.api_tokens = vec![ApiToken { user: "ops".into(), token: "token-of-ops".into() }];
        settings.server.slack.signing_secret = SECRET.into();
        settings.server.slack.allow_http_response_url = true;
        settings.server.slack.response_hosts = vec!["127.0.0.1".into()];
        configure(&mut settings);
        let server = open(settings).await;
        tokio::spawn(quarry_server::serve_on(server.state.clone(), listener));
        let http = reqwest::Client::builder().timeout(Duration::from_secs(120)).build().expect("client");
        Self { base, receiver, http, server }
    }

    /// The form body Slack sends for `/ask {text}` typed by `user_id`.
    fn form(&self, text: &str, user_id: &str, trigger_id: &str) -> String {
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("token", "gIkuvaNzQIHg97ATvDxqgjtO"),
                ("team_id", "T0001"),
                ("team_domain", "example"),
                ("channel_id", "C2147483705"),
                ("channel_name", "metrics"),
                ("user_id", user_id),
                ("user_name", "steve"),
                ("command", "/ask"),
                ("text", text),
                ("response_url", &format!("{}{COMMAND_RESPONSE_PATH}", self.receiver.uri())),
                ("trigger_id", trigger_id),
                ("api_app_id", "A123456"),
            ])
            .finish()
    }

    /// The form body Slack sends when `user_id` clicks the button `action_id` of value `value`
    /// in an (ephemeral) message of the channel the commands come from.
    fn click_form(&self, action_id: &str, value: &str, user_id: &str, trigger_id: &str) -> String {
        let payload = json!({
            "type": "block_actions",
            "team": {"id": "T0001", "domain": "example"},
            "user": {"id": user_id, "username": "steve", "name": "steve", "team_id": "T0001"},
            "api_app_id": "A123456",
            "token": "gIkuvaNzQIHg97ATvDxqgjtO",
            "container": {
                "type": "message",
                "message_ts": "1548261231.000200",
                "channel_id": "C2147483705",
                "is_ephemeral": true,
            },
            "trigger_id": trigger_id,
            "channel": {"id": "C2147483705", "name": "metrics"},
            "response_url": format!("{}{ACTION_RESPONSE_PATH}", self.receiver.uri()),
            "actions": [{
                "type": "button",
                "block_id": "quarry_options",
                "action_id": action_id,
                "text": {"type": "plain_text", "text": value, "emoji": true},
                "value": value,
                "action_ts": "1548426417.840180",
            }],
        });
        form_urlencoded::Serializer::new(String::new()).append_pair("payload", &payload.to_string()).finish()
    }

    /// POSTs a form body to /slack/commands with the given Slack headers.
    async fn post(&self, body: &str, timestamp: Option<String>, signature: Option<String>) -> reqwest::Response {
        self.post_to("/slack/commands", body, timestamp, signature).await
    }

    /// POSTs a form body to `endpoint` with the given Slack headers.
    async fn post_to(
        &self,
        endpoint: &str,
        body: &str,
        timestamp: Option<String>,
        signature: Option<String>,
    ) -> reqwest::Response {
        let mut request = self
            .http
            .post(format!("{}{endpoint}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.to_string());
        if let Some(timestamp) = timestamp {
            request = request.header("X-Slack-Request-Timestamp", timestamp);
        }
        if let Some(signature) = signature {
            request = request.header("X-Slack-Signature", signature);
        }
        request.send().await.expect("the server answers")
    }

    /// Sends `/ask {text}` signed as Slack does now; returns the status, the body and how
    /// long the acknowledgement took.
    async fn ask(&self, text: &str, user_id: &str, trigger_id: &str) -> (StatusCode, Value, Duration) {
        let body = self.form(text, user_id, trigger_id);
        let timestamp = now().to_string();
        let signature = slack_signature(SECRET, &timestamp, &body);
        let started = Instant::now();
        let response = self.post(&body, Some(timestamp), Some(signature)).await;
        let status = response.status();
        let json = response.json::<Value>().await.expect("the acknowledgement is JSON");
        (status, json, started.elapsed())
    }

    /// POSTs a form body to /slack/interactions, signed as Slack does now.
    async fn interact(&self, body: &str) -> reqwest::Response {
        let timestamp = now().to_string();
        let signature = slack_signature(SECRET, &timestamp, body);
        self.post_to("/slack/interactions", body, Some(timestamp), Some(signature)).await
    }

    /// The response_url paths posted to so far, in order.
    async fn posted_paths(&self) -> Vec<String> {
        let requests = self.receiver.received_requests().await.expect("the receiver records requests");
        requests.iter().map(|request| request.url.path().to_string()).collect()
    }

    /// The messages posted to response_url so far.
    async fn posts(&self) -> Vec<Value> {
        self.receiver
            .received_requests()
            .await
            .expect("the receiver records requests")
            .iter()
            .map(|request| serde_json::from_slice(&request.body).expect("the post is JSON"))
            .collect()
    }

    /// Waits until `count` messages were posted (or a minute passed); returns them.
    async fn wait_for_posts(&self, count: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let posts = self.posts().await;
            if posts.len() >= count || Instant::now() > deadline {
                return posts;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn now() -> i64 {
    i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_secs()).expect("fits")
}

/// `v0=` + hex(HMAC-SHA256(signing secret, `v0:{timestamp}:{body}`)), as documented at
/// <https://api.slack.com/authentication/verifying-requests-from-slack>.
fn slack_signature(secret: &str, timestamp: &str, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(format!("v0:{timestamp}:{body}").as_bytes());
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

fn blocks(message: &Value) -> &Vec<Value> {
    message["blocks"].as_array().unwrap_or_else(|| panic!("the message has blocks: {message}"))
}

fn texts_of(message: &Value) -> Vec<String> {
    blocks(message)
        .iter()
        .flat_map(|block| {
            let own = block["text"]["text"].as_str().map(str::to_string);
            let elements = block["elements"]
                .as_array()
                .map(|e| e.iter().filter_map(|e| e["text"].as_str().map(str::to_string)).collect::<Vec<_>>())
                .unwrap_or_default();
            own.into_iter().chain(elements)
        })
        .collect()
}

/// The conversation id in the message's "Open in quarry" link (`{base}/#c={id}&share={token}`).
fn conversation_link(message: &Value, base: &str) -> String {
    shared_conversation_link(message, base).0
}

/// The conversation id and the share token in the message's "Open in quarry" link.
fn shared_conversation_link(message: &Value, base: &str) -> (String, String) {
    let texts = texts_of(message);
    let link = texts
        .iter()
        .find_map(|t| t.split_once(&format!("<{base}/#c=")).map(|(_, rest)| rest.to_string()))
        .unwrap_or_else(|| panic!("no link to the conversation in {texts:?}"));
    let fragment = link.split('|').next().expect("the link");
    let (id, token) =
        fragment.split_once("&amp;share=").or_else(|| fragment.split_once("&share=")).unwrap_or_else(|| {
            panic!("the link carries the conversation's share token: {link}");
        });
    (id.to_string(), token.to_string())
}

#[test]
fn a_command_is_acknowledged_at_once_and_answered_with_block_kit() {
    run(async {
        let slack = SimulatedSlack::start(|_| {}).await;
        let started = Instant::now();
        let (status, ack, ack_latency) = slack
            .ask("signups by channel last month", "U2147483697", "13345224609.738474920.8088930838d88f008e0")
            .await;
        let posts_at_ack = slack.posts().await.len();
        assert_eq!(status, StatusCode::OK, "{ack}");
        assert_eq!(ack["response_type"], "ephemeral", "only the user sees the acknowledgement: {ack}");
        let text = ack["text"].as_str().unwrap_or_default();
        assert!(text.starts_with("Working on it") && text.contains("signups by channel last month"), "{ack}");
        assert!(ack_latency < Duration::from_secs(3), "Slack wants the ack within 3 s; it took {ack_latency:?}");
        assert_eq!(posts_at_ack, 0, "the acknowledgement came before the answer");

        let posts = slack.wait_for_posts(1).await;
        let answer_latency = started.elapsed();
        eprintln!("slack /ask: ack in {ack_latency:?}, answer at the response_url after {answer_latency:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
        let posts_after = slack.posts().await;
        assert_eq!(posts_after.len(), 1, "exactly one answer is posted: {posts_after:?}");
        let message = &posts[0];
        assert!(
            quarry_slack::check_message(message).is_empty(),
            "within Slack's limits: {:?}",
            quarry_slack::check_message(message)
        );
        assert_eq!(message["response_type"], "ephemeral");
        let blocks = blocks(message);

        let summary = blocks[0]["text"]["text"].as_str().expect("the first block is a section");
        assert_eq!(blocks[0]["type"], "section");
        assert!(
            summary.contains("signups by channel last month") && summary.contains("referral"),
            "the summary: {summary}"
        );

        let table = blocks
            .iter()
            .filter_map(|b| b["text"]["text"].as_str())
            .find(|t| t.starts_with("```"))
            .unwrap_or_else(|| panic!("no table section in {blocks:?}"));
        for channel in ["referral", "organic", "paid_search", "partner", "social"] {
            assert!(table.contains(channel), "the table lists {channel}: {table}");
        }

        let image =
            blocks.iter().find(|b| b["type"] == "image").unwrap_or_else(|| panic!("no image block in {blocks:?}"));
        let image_url = image["image_url"].as_str().expect("image_url");
        assert!(
            image_url.starts_with(&format!("{}/api/v1/charts/", slack.base)),
            "the chart link uses public_base_url: {image_url}"
        );
        assert!(image["alt_text"].as_str().is_some_and(|a| !a.is_empty()), "{image}");
        // Slack fetches the image without credentials; the API itself needs a token.
        let fetched = slack.http.get(image_url).send().await.expect("fetch the chart");
        assert_eq!(fetched.status(), StatusCode::OK, "the signed link works without auth");
        assert_eq!(fetched.headers()["content-type"], "image/png");
        assert!(fetched.bytes().await.expect("bytes").starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
        let unsigned = image_url.split('?').next().expect("path");
        let refused = slack.http.get(unsigned).send().await.expect("fetch");
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED, "without the signature the chart needs a sign-in");

        let sql = blocks
            .iter()
            .filter(|b| b["type"] == "context")
            .filter_map(|b| b["elements"][0]["text"].as_str())
            .find(|t| t.starts_with("SQL"))
            .unwrap_or_else(|| panic!("no SQL context block in {blocks:?}"));
        assert!(sql.contains("SELECT signup_channel"), "{sql}");

        let (conversation, share) = shared_conversation_link(message, &slack.base);
        let record = slack.server.state.store().conversation(&conversation).await.expect("store").expect("stored");
        assert_eq!(record.user_id, "slack:T0001:U2147483697", "the Slack user owns the conversation");
        assert_eq!(record.channel, "slack");
        let audits = slack.server.state.store().turns(&conversation).await.expect("turns");
        assert_eq!(audits.len(), 1);
        // The link opens the conversation in the web chat for whoever signs in there (not the
        // Slack user): through its share token, without which it is not found.
        let read = |query: String| {
            slack
                .http
                .get(format!("{}/api/v1/conversations/{conversation}{query}", slack.base))
                .bearer_auth("token-of-ops")
                .send()
        };
        let shared = read(format!("?share={share}")).await.expect("read");
        assert_eq!(shared.status(), StatusCode::OK);
        let view = shared.json::<Value>().await.expect("JSON");
        assert_eq!((view["id"].as_str(), view["is_owner"].as_bool()), (Some(conversation.as_str()), Some(false)));
        assert_eq!(read(String::new()).await.expect("read").status(), StatusCode::NOT_FOUND);

        let metrics =
            slack.http.get(format!("{}/metrics", slack.base)).send().await.expect("metrics").text().await.unwrap();
        assert!(metrics.contains("quarry_slack_commands_total{outcome=\"accepted\"} 1"), "{metrics}");
    });
}

#[test]
fn unsigned_badly_signed_and_stale_commands_are_refused_and_never_answered() {
    run(async {
        let slack = SimulatedSlack::start(|_| {}).await;
        let body = slack.form("revenue this year", "U1", "trigger-bad-1");
        let fresh = now().to_string();
        let cases = [
            (
                "a signature with another secret",
                Some(fresh.clone()),
                Some(slack_signature("not the secret", &fresh, &body)),
            ),
            ("a signature of another body", Some(fresh.clone()), Some(slack_signature(SECRET, &fresh, "text=other"))),
            ("no signature", Some(fresh.clone()), None),
            ("no timestamp", None, Some(slack_signature(SECRET, &fresh, &body))),
            (
                "a timestamp 6 minutes old",
                Some((now() - 360).to_string()),
                Some(slack_signature(SECRET, &(now() - 360).to_string(), &body)),
            ),
            (
                "a timestamp 6 minutes ahead",
                Some((now() + 360).to_string()),
                Some(slack_signature(SECRET, &(now() + 360).to_string(), &body)),
            ),
            ("a malformed signature", Some(fresh.clone()), Some("v0=zz".into())),
        ];
        for (case, timestamp, signature) in cases {
            let response = slack.post(&body, timestamp, signature).await;
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{case}");
            let request_id = response.headers()["x-request-id"].to_str().unwrap().to_string();
            let error: Value = response.json().await.expect("JSON");
            assert_eq!(error["error"]["code"], "bad_signature", "{case}: {error}");
            assert_eq!(error["error"]["request_id"], request_id.as_str(), "{case}");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(slack.posts().await.is_empty(), "nothing is posted for a refused command");
        // The refused trigger was not claimed: the genuine command still goes through.
        let (status, ack, _) = slack.ask("revenue this year", "U1", "trigger-bad-1").await;
        assert_eq!(status, StatusCode::OK);
        assert!(ack["text"].as_str().unwrap_or_default().starts_with("Working on it"), "{ack}");
        assert_eq!(slack.wait_for_posts(1).await.len(), 1);
    });
}

#[test]
fn a_replayed_trigger_is_answered_once() {
    run(async {
        let slack = SimulatedSlack::start(|_| {}).await;
        let (status, first, _) = slack.ask("revenue this year", "U1", "trigger-replayed").await;
        assert_eq!(status, StatusCode::OK);
        assert!(first["text"].as_str().unwrap_or_default().starts_with("Working on it"), "{first}");
        // The same command again, freshly signed (Slack retries, or someone replays it).
        let (status, second, _) = slack.ask("revenue this year", "U1", "trigger-replayed").await;
        assert_eq!(status, StatusCode::OK, "{second}");
        assert!(second["text"].as_str().unwrap_or_default().contains("already received"), "{second}");
        assert_eq!(slack.wait_for_posts(1).await.len(), 1);
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(slack.posts().await.len(), 1, "the receiver saw one answer");
    });
}

#[test]
fn a_follow_up_from_the_same_user_continues_the_conversation() {
    run(async {
        let slack = SimulatedSlack::start(|_| {}).await;
        slack.ask("signups by channel last month", "U1", "trigger-f1").await;
        let first = slack.wait_for_posts(1).await;
        assert_eq!(first.len(), 1, "the first answer");
        let (status, _, _) = slack.ask("break that down by country", "U1", "trigger-f2").await;
        assert_eq!(status, StatusCode::OK);
        let posts = slack.wait_for_posts(2).await;
        assert_eq!(posts.len(), 2, "the follow-up's answer");
        let conversation = conversation_link(&posts[0], &slack.base);
        assert_eq!(conversation_link(&posts[1], &slack.base), conversation, "the same conversation");
        let summary = blocks(&posts[1])[0]["text"]["text"].as_str().unwrap_or_default().to_lowercase();
        assert!(summary.contains("country"), "broken down by country: {summary}");
        // More rows than Slack shows: at most 20, and the message says so.
        let table = texts_of(&posts[1]).into_iter().find(|t| t.starts_with("```")).expect("a table");
        let note = table.rsplit("_First ").next().unwrap_or_default();
        let shown: usize = note
            .split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("a 'First N of M rows' note: {table}"));
        assert!(shown <= 20, "at most 20 rows in Slack: {table}");
        let turns = slack.server.state.store().turns(&conversation).await.expect("turns");
        assert_eq!(turns.len(), 2);

        // Another user in the same channel starts a conversation of their own.
        slack.ask("revenue this year", "U2", "trigger-f3").await;
        let posts = slack.wait_for_posts(3).await;
        assert_ne!(conversation_link(&posts[2], &slack.base), conversation, "another user's conversation");
    });
}

#[test]
fn an_empty_command_gets_the_help_message() {
    run(async {
        let slack = SimulatedSlack::start(|_| {}).await;
        for (text, trigger) in [("", "trigger-h1"), ("  help ", "trigger-h2")] {
            let (status, help, _) = slack.ask(text, "U1", trigger).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(help["response_type"], "ephemeral");
            let texts = texts_of(&help).join("\n");
            assert!(texts.contains("/ask") && texts.contains("Try:"), "usage and examples: {texts}");
            let suggestion = &slack.server.state.suggestions()[0];
            assert!(texts.contains(suggestion.as_str()), "the suggestions are the examples: {texts}");
            assert!(quarry_slack::check_message(&help).is_empty());
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(slack.posts().await.is_empty(), "help needs no answer");
    });
}

#[test]
fn without_a_signing_secret_the_slack_endpoints_are_off() {
    run(async {
        let slack = SimulatedSlack::start(|settings| settings.server.slack.signing_secret.clear()).await;
        let command = slack.form("revenue this year", "U1", "trigger-off");
        let click = slack.click_form("quarry_option_0", "signups", "U1", "trigger-off-click");
        for (endpoint, body) in [("/slack/commands", command), ("/slack/interactions", click)] {
            let timestamp = now().to_string();
            let signature = slack_signature(SECRET, &timestamp, &body);
            let response = slack.post_to(endpoint, &body, Some(timestamp), Some(signature)).await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{endpoint}");
            let error: Value = response.json().await.expect("JSON");
            assert_eq!(error["error"]["code"], "slack_disabled", "{endpoint}: {error}");
            assert!(error["error"]["message"].as_str().unwrap_or_default().contains("signing_secret"), "{error}");
        }
    });
}

#[test]
fn a_click_on_an_option_button_answers_it_in_the_same_conversation() {
    run(async {
        let slack = SimulatedSlack::start(|_| {}).await;
        slack.ask("how many users do we have", "U1", "trigger-o1").await;
        let posts = slack.wait_for_posts(1).await;
        let clarification = &posts[0];
        assert!(quarry_slack::check_message(clarification).is_empty(), "{clarification}");
        let actions = blocks(clarification)
            .iter()
            .find(|b| b["type"] == "actions")
            .unwrap_or_else(|| panic!("the clarification has option buttons: {clarification}"));
        let buttons = actions["elements"].as_array().expect("buttons");
        let values: Vec<&str> = buttons.iter().filter_map(|b| b["value"].as_str()).collect();
        assert_eq!(values, ["signups", "active users"], "{actions}");
        assert!(texts_of(clarification).join("\n").contains("`/ask signups`"), "the commands stay as a fallback");
        let conversation = conversation_link(clarification, &slack.base);

        let picked = &buttons[0];
        let body = slack.click_form(
            picked["action_id"].as_str().expect("action_id"),
            picked["value"].as_str().expect("value"),
            "U1",
            "trigger-o2",
        );
        let started = Instant::now();
        let response = slack.interact(&body).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(started.elapsed() < Duration::from_secs(3), "Slack wants the 200 within 3 s");

        let posts = slack.wait_for_posts(3).await;
        assert_eq!(posts.len(), 3, "working on it, then the answer: {posts:?}");
        let paths = slack.posted_paths().await;
        assert_eq!(paths, [COMMAND_RESPONSE_PATH, ACTION_RESPONSE_PATH, ACTION_RESPONSE_PATH]);
        assert_eq!(posts[1]["text"], "Working on it: signups…", "{}", posts[1]);
        let answer = &posts[2];
        assert!(quarry_slack::check_message(answer).is_empty(), "{answer}");
        let summary = blocks(answer)[0]["text"]["text"].as_str().unwrap_or_default();
        assert!(summary.starts_with("*signups*\nSignups: "), "the option is answered: {summary}");
        let options = blocks(answer).iter().filter(|b| b["type"] == "actions" && b["block_id"] != "quarry_ask_analyst");
        assert_eq!(options.count(), 0, "no more options: {answer}");
        assert_eq!(conversation_link(answer, &slack.base), conversation, "the same conversation");
        let turns = slack.server.state.store().turns(&conversation).await.expect("turns");
        let questions: Vec<&str> = turns.iter().map(|t| t.question.as_str()).collect();
        assert_eq!(questions, ["how many users do we have", "signups"]);

        // Slack retries a click it thinks was lost: it is answered once.
        assert_eq!(slack.interact(&body).await.status(), StatusCode::OK);
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(slack.posts().await.len(), 3, "a replayed click is not answered again");
        let metrics =
            slack.http.get(format!("{}/metrics", slack.base)).send().await.expect("metrics").text().await.unwrap();
        assert!(metrics.contains("quarry_slack_interactions_total{outcome=\"accepted\"} 1"), "{metrics}");
        assert!(metrics.contains("quarry_slack_interactions_total{outcome=\"replay\"} 1"), "{metrics}");

        // A click quarry cannot take is still acknowledged; why is posted to the user.
        let long = "signups ".repeat(200);
        assert_eq!(slack.interact(&slack.click_form("quarry_option_0", &long, "U1", "trigger-o3")).await.status(), 200);
        let posts = slack.wait_for_posts(4).await;
        assert_eq!(posts.len(), 4, "the refusal is posted: {posts:?}");
        let refusal = posts[3]["text"].as_str().unwrap_or_default();
        assert!(refusal.contains("characters long; the limit is 1000"), "{refusal}");
        assert_eq!(posts[3]["response_type"], "ephemeral");
    });
}

#[test]
fn unsigned_and_malformed_interactions_are_refused_with_the_error_body() {
    run(async {
        let slack = SimulatedSlack::start(|_| {}).await;
        let click = slack.click_form("quarry_option_0", "signups", "U1", "trigger-m1");
        let fresh = now().to_string();
        let unsigned = slack.post_to("/slack/interactions", &click, Some(fresh.clone()), None).await;
        assert_eq!(unsigned.status(), StatusCode::UNAUTHORIZED);
        let error: Value = unsigned.json().await.expect("JSON");
        assert_eq!(error["error"]["code"], "bad_signature", "{error}");
        let forged = slack_signature("not the secret", &fresh, &click);
        let forged = slack.post_to("/slack/interactions", &click, Some(fresh), Some(forged)).await;
        assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);

        let payload = |edit: &dyn Fn(&mut Value)| {
            let mut payload: Value = form_urlencoded::parse(click.as_bytes())
                .find(|(key, _)| key == "payload")
                .map(|(_, value)| serde_json::from_str(&value).expect("JSON"))
                .expect("a payload");
            edit(&mut payload);
            form_urlencoded::Serializer::new(String::new()).append_pair("payload", &payload.to_string()).finish()
        };
        let cases = [
            ("no payload field", "text=signups".to_string(), "no `payload` field"),
            ("a payload that is not JSON", "payload=%7Bnot+json".to_string(), "not the JSON Slack sends"),
            (
                "a modal submission",
                payload(&|p| p["type"] = json!("view_submission")),
                "quarry only handles `block_actions`",
            ),
            (
                "a button quarry did not post",
                payload(&|p| p["actions"][0]["action_id"] = json!("approve_expense")),
                "\"approve_expense\" is not one of quarry's buttons",
            ),
            ("no value", payload(&|p| p["actions"][0]["value"] = json!("")), "no `actions[0].value`"),
            ("no user", payload(&|p| p["user"] = Value::Null), "no `user.id`"),
            (
                "a response_url outside Slack",
                payload(&|p| p["response_url"] = json!("https://169.254.169.254/latest")),
                "response_url",
            ),
        ];
        for (case, body, says) in cases {
            let response = slack.interact(&body).await;
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{case}");
            let request_id = response.headers()["x-request-id"].to_str().unwrap().to_string();
            let error: Value = response.json().await.expect("JSON");
            assert_eq!(error["error"]["code"], "bad_slack_interaction", "{case}: {error}");
            assert_eq!(error["error"]["request_id"], request_id.as_str(), "{case}");
            let message = error["error"]["message"].as_str().unwrap_or_default();
            assert!(message.contains(says), "{case}: {message}");
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(slack.posts().await.is_empty(), "nothing is answered for a refused interaction");
        // The refused trigger was not claimed: the genuine click still goes through.
        assert_eq!(slack.interact(&click).await.status(), StatusCode::OK);
        assert_eq!(slack.wait_for_posts(2).await.len(), 2, "working on it, then the answer");
    });
}

/// Simulated Slack in front of a server whose chat model answers every request with `sql`
/// and `chart`, routed by `route` (with the cross-check as `cross_check` says).
async fn slack_with_model(
    sql: &str,
    chart: Value,
    route: quarry_settings::Route,
    cross_check: bool,
) -> (SimulatedSlack, MockServer) {
    let content = json!({ "sql": sql, "explanation": "the scripted reading", "chart": chart }).to_string();
    let model = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "chatcmpl-slack",
            "object": "chat.completion",
            "choices": [{ "index": 0, "message": { "role": "assistant", "content": content }, "finish_reason": "stop" }],
            "usage": { "prompt_tokens": 900, "completion_tokens": 40, "total_tokens": 940 }
        })))
        .mount(&model)
        .await;
    let mut with_model = common::model_settings(&model.uri(), route, |_| {});
    with_model.synthesis.cross_check = cross_check;
    let slack = SimulatedSlack::start_with(
        |settings| {
            settings.model = with_model.model;
            settings.synthesis = with_model.synthesis;
        },
        common::model_server,
    )
    .await;
    (slack, model)
}

#[test]
fn the_models_chart_is_posted_to_slack_as_an_image() {
    run(async {
        let sql = "SELECT plan, COUNT(*) AS subscriptions FROM subscriptions GROUP BY plan ORDER BY plan";
        let chart = json!({"mark": "arc", "x": "plan", "y": "subscriptions", "color": null});
        let (slack, _model) = slack_with_model(sql, chart, quarry_settings::Route::ModelOnly, false).await;
        let (status, ack, _) = slack.ask("subscriptions per plan", "U0MODEL", "1.2.model").await;
        assert_eq!(status, StatusCode::OK, "{ack}");
        let posts = slack.wait_for_posts(1).await;
        let message = posts.first().expect("the answer is posted");
        let blocks = blocks(message);
        let image =
            blocks.iter().find(|b| b["type"] == "image").unwrap_or_else(|| panic!("no image block in {blocks:?}"));
        let image_url = image["image_url"].as_str().expect("image_url");
        let fetched = slack.http.get(image_url).send().await.expect("fetch the chart");
        assert_eq!(fetched.status(), StatusCode::OK);
        assert!(fetched.bytes().await.expect("bytes").starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
        // The chart drawn is the model's pie, as recorded with the answer.
        let (conversation, _) = shared_conversation_link(message, &slack.base);
        let turns = slack.server.state.store().turns(&conversation).await.expect("turns");
        assert_eq!(turns[0].answer["chart"]["kind"], "pie", "{}", turns[0].answer);
    });
}

#[test]
fn a_cross_checked_answer_says_so_in_slack() {
    run(async {
        let same = "SELECT signup_channel AS channel, COUNT(*) AS n FROM users \
             WHERE signup_at >= TIMESTAMP '2025-11-01 00:00:00' AND signup_at < TIMESTAMP '2025-12-01 00:00:00' \
             GROUP BY signup_channel";
        let (slack, _model) = slack_with_model(same, Value::Null, quarry_settings::Route::BuiltinFirst, true).await;
        let (status, ack, _) = slack.ask("signups by channel last month", "U0CHECK", "1.2.check").await;
        assert_eq!(status, StatusCode::OK, "{ack}");
        let posts = slack.wait_for_posts(1).await;
        let texts = texts_of(posts.first().expect("the answer is posted"));
        assert!(texts.iter().any(|t| t.contains("checked: two independent routes agree")), "{texts:?}");
    });
}

/// The `value` of the message's "Ask an analyst" button: the answer's id.
fn ask_analyst_value(message: &Value) -> String {
    blocks(message)
        .iter()
        .filter(|b| b["type"] == "actions")
        .flat_map(|b| b["elements"].as_array().cloned().unwrap_or_default())
        .find(|e| e["action_id"] == quarry_slack::ASK_ANALYST_ACTION)
        .and_then(|e| e["value"].as_str().map(str::to_string))
        .unwrap_or_else(|| panic!("no Ask an analyst button in {message}"))
}

/// An analyst's answer over the API, as `carl` (token `token-of-carl`).
async fn answer_as_analyst(slack: &SimulatedSlack, asker: &str, text: &str) -> (Value, Instant) {
    let queue = slack
        .http
        .get(format!("{}/api/v1/reviews?status=open&asker={asker}", slack.base))
        .bearer_auth("token-of-carl")
        .send()
        .await
        .expect("the queue")
        .json::<Value>()
        .await
        .expect("JSON");
    let id = queue["items"][0]["id"].as_str().unwrap_or_else(|| panic!("{asker}'s item in {queue}")).to_string();
    let clicked = Instant::now();
    let answered = slack
        .http
        .post(format!("{}/api/v1/reviews/{id}/answer", slack.base))
        .bearer_auth("token-of-carl")
        .json(&json!({"text": text, "sql": "SELECT COUNT(*) AS users FROM users"}))
        .send()
        .await
        .expect("the answer");
    assert_eq!(answered.status(), StatusCode::OK);
    (answered.json::<Value>().await.expect("JSON"), clicked)
}

fn analyst_settings(settings: &mut Settings) {
    settings.server.api_tokens.push(ApiToken { user: "carl".into(), token: "token-of-carl".into() });
    settings.server.analysts = vec!["carl".into()];
}

// Issue 21: the Slack hand-off end to end against the simulated Slack.
#[test]
fn a_slack_asker_hands_a_question_to_an_analyst_and_gets_the_answer_as_a_message() {
    run(async {
        let slack = SimulatedSlack::start(|settings| {
            analyst_settings(settings);
            settings.server.slack.bot_token = "xoxb-test-bot".into();
        })
        .await;
        let (status, _, _) = slack.ask("how many unicorns", "U0PM", "t-pm-1").await;
        assert_eq!(status, StatusCode::OK);
        let posts = slack.wait_for_posts(1).await;
        let answer_id = ask_analyst_value(&posts[0]);
        assert!(quarry_slack::check_message(&posts[0]).is_empty(), "within Slack's limits with the button");

        // The asker clicks "Ask an analyst": the item gets the click's response_url too.
        let click = slack.click_form(quarry_slack::ASK_ANALYST_ACTION, &answer_id, "U0PM", "t-pm-2");
        assert_eq!(slack.interact(&click).await.status(), StatusCode::OK);
        let posts = slack.wait_for_posts(2).await;
        let confirmation = posts[1]["text"].as_str().unwrap_or_default();
        assert!(confirmation.starts_with("Sent to an analyst"), "{}", posts[1]);
        let item = slack.server.state.store().review_for_answer(&answer_id).await.unwrap().expect("queued");
        assert_eq!(item.asker_id, "slack:T0001:U0PM");
        assert!(item.reply_url.as_deref().is_some_and(|url| url.ends_with(ACTION_RESPONSE_PATH)), "{item:?}");

        let (answered, clicked) =
            answer_as_analyst(&slack, "slack:T0001:U0PM", "About 42 unicorns, all on trial plans.").await;
        let posts = slack.wait_for_posts(3).await;
        let delivered_after = clicked.elapsed();
        eprintln!(
            "slack hand-off: the analyst's answer reached the simulated Slack {delivered_after:?} after the click"
        );
        assert_eq!(answered["delivery"], "slack_message", "{answered}");
        let requests = slack.receiver.received_requests().await.unwrap();
        let sent = requests.iter().find(|r| r.url.path() == POST_MESSAGE_PATH).expect("chat.postMessage was called");
        assert_eq!(sent.headers["authorization"], "Bearer xoxb-test-bot");
        let message: Value = serde_json::from_slice(&sent.body).unwrap();
        assert_eq!(message["channel"], "U0PM", "a direct message to the asker: {message}");
        let texts = texts_of(&message).join("\n");
        assert!(texts.contains("About 42 unicorns, all on trial plans."), "{texts}");
        assert!(texts.contains("Answered by *carl*"), "{texts}");
        assert!(texts.contains("SELECT COUNT(*) AS users FROM users"), "{texts}");
        assert_eq!(posts.len(), 3, "nothing else was posted: {posts:?}");
    });
}

#[test]
fn without_a_bot_token_the_answer_goes_to_the_response_url_or_is_recorded_as_undelivered() {
    run(async {
        let slack = SimulatedSlack::start(analyst_settings).await;
        // Clicked "Ask an analyst": its response_url is valid for 30 minutes.
        slack.ask("how many unicorns", "U0PM", "t-pm-1").await;
        let answer_id = ask_analyst_value(&slack.wait_for_posts(1).await[0]);
        let click = slack.click_form(quarry_slack::ASK_ANALYST_ACTION, &answer_id, "U0PM", "t-pm-2");
        slack.interact(&click).await;
        slack.wait_for_posts(2).await;
        let (answered, _) = answer_as_analyst(&slack, "slack:T0001:U0PM", "About 42.").await;
        assert_eq!(answered["delivery"], "slack_response_url", "{answered}");
        let posts = slack.wait_for_posts(3).await;
        assert!(texts_of(&posts[2]).join(" ").contains("Answered by *carl*"), "{}", posts[2]);
        assert_eq!(slack.posted_paths().await.last().map(String::as_str), Some(ACTION_RESPONSE_PATH));

        // Handed over by quarry itself (it could not answer), never clicked: no URL to answer at.
        slack.ask("tell me a joke", "U0PO", "t-po-1").await;
        slack.wait_for_posts(4).await;
        let (answered, _) = answer_as_analyst(&slack, "slack:T0001:U0PO", "None.").await;
        let delivery = answered["delivery"].as_str().unwrap_or_default();
        assert!(delivery.starts_with("failed: no [server.slack] bot_token"), "{answered}");
        let item = slack.server.state.store().review(answered["id"].as_str().unwrap()).await.unwrap().unwrap();
        assert_eq!(item.delivery.as_deref(), Some(delivery), "visible in the queue item");
        assert_eq!(slack.posts().await.len(), 4, "nothing was posted for it");
    });
}
