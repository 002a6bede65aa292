//! Messages to a Slack user at any time, through Slack's Web API `chat.postMessage`
//! (<https://api.slack.com/methods/chat.postMessage>) with the app's bot token: an analyst's
//! answer may come long after the question's `response_url` expired (30 minutes). Posting to a
//! user id opens the app's direct message with them. Retried on 429, 5xx and transport
//! failures with quarry-http's backoff; Slack reports most errors as HTTP 200 with
//! `{"ok": false, "error": …}`, which are not retried.

use std::time::Duration;

use quarry_http::{Attempt, RetryPolicy, retry_after, root_cause, with_retries};
use serde_json::Value;

use crate::response::PostError;

/// Sends messages through Slack's Web API with a bot token.
#[derive(Debug, Clone)]
pub struct SlackWebClient {
    http: reqwest::Client,
    retry: RetryPolicy,
    base_url: String,
    token: String,
}

/// What one try produced, before retries turn it into a [`PostError`].
#[derive(Debug)]
enum Failure {
    Status { status: u16, body: String },
    Api { error: String },
    Transport { cause: String, timeout: bool },
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Status { status, body } => write!(f, "HTTP {status}: {body}"),
            Self::Api { error } => write!(f, "Slack said {error}"),
            Self::Transport { cause, .. } => f.write_str(cause),
        }
    }
}

impl SlackWebClient {
    /// A client of the Web API at `base_url` (`https://slack.com/api`) with the bot token
    /// `token`; every try gives up after `timeout` and is retried as `retry` says.
    pub fn new(base_url: &str, token: &str, timeout: Duration, retry: RetryPolicy) -> Result<Self, PostError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|error| PostError::Client { cause: root_cause(&error) })?;
        Ok(Self { http, retry, base_url: base_url.trim_end_matches('/').to_string(), token: token.to_string() })
    }

    /// Posts `message` (its `text` and `blocks`, e.g. from [`crate::answer_message`]) to
    /// `channel`: a channel id, or a user id for a direct message.
    pub async fn post_message(&self, channel: &str, message: &Value) -> Result<(), PostError> {
        let mut body = serde_json::json!({"channel": channel});
        for key in ["text", "blocks"] {
            if let Some(value) = message.get(key) {
                body[key] = value.clone();
            }
        }
        let url = format!("{}/chat.postMessage", self.base_url);
        let outcome = with_retries(&self.retry, "posting a message with Slack's chat.postMessage", || async {
            let response = self.http.post(&url).bearer_auth(&self.token).json(&body).send().await.map_err(|error| {
                let failure = Failure::Transport { cause: root_cause(&error), timeout: error.is_timeout() };
                if error.is_builder() { Attempt::fatal(failure) } else { Attempt::retry(failure, None) }
            })?;
            let status = response.status();
            let wait = retry_after(&response);
            let text = response.text().await.unwrap_or_default();
            if status.as_u16() == 429 || status.is_server_error() {
                return Err(Attempt::retry(Failure::Status { status: status.as_u16(), body: cut(&text) }, wait));
            }
            if !status.is_success() {
                return Err(Attempt::fatal(Failure::Status { status: status.as_u16(), body: cut(&text) }));
            }
            let reply: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            match reply.get("ok").and_then(Value::as_bool) {
                Some(true) => Ok(()),
                _ => {
                    let error = reply.get("error").and_then(Value::as_str).unwrap_or("no ok in the reply");
                    Err(Attempt::fatal(Failure::Api { error: error.to_string() }))
                }
            }
        })
        .await;
        outcome.map_err(|(attempt, tries)| match attempt.error {
            Failure::Status { status, body } => PostError::Status { status, body, tries },
            Failure::Api { error } => PostError::Api { error },
            Failure::Transport { cause, timeout } => PostError::Transport { cause, timeout, tries },
        })
    }
}

fn cut(text: &str) -> String {
    text.trim().chars().take(300).collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use wiremock::matchers::{body_partial_json, header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;

    fn client(server: &MockServer) -> SlackWebClient {
        let retry = RetryPolicy {
            max_retries: 2,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(5),
        };
        SlackWebClient::new(&format!("{}/api/", server.uri()), "xoxb-test", Duration::from_secs(5), retry).unwrap()
    }

    #[tokio::test]
    async fn a_message_goes_to_the_channel_with_the_bot_token() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/api/chat.postMessage"))
            .and(header("authorization", "Bearer xoxb-test"))
            .and(body_partial_json(json!({"channel": "U1", "text": "42"})))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true})))
            .expect(1)
            .mount(&server)
            .await;
        let message = json!({"response_type": "ephemeral", "text": "42", "blocks": []});
        client(&server).post_message("U1", &message).await.unwrap();
        let sent: Value = server.received_requests().await.unwrap()[0].body_json().unwrap();
        assert!(sent.get("response_type").is_none(), "only what chat.postMessage takes: {sent}");
    }

    #[tokio::test]
    async fn slack_errors_are_reported_and_server_errors_retried() {
        let server = MockServer::start().await;
        Mock::given(path("/api/chat.postMessage"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": false, "error": "channel_not_found"})))
            .expect(1)
            .mount(&server)
            .await;
        let error = client(&server).post_message("U1", &json!({"text": "x"})).await.unwrap_err();
        assert_eq!(error.kind(), "slack_api_error");
        assert!(error.to_string().contains("channel_not_found"), "{error}");

        let failing = MockServer::start().await;
        Mock::given(path("/api/chat.postMessage"))
            .respond_with(ResponseTemplate::new(503))
            .expect(3)
            .mount(&failing)
            .await;
        let error = client(&failing).post_message("U1", &json!({"text": "x"})).await.unwrap_err();
        assert!(matches!(error, PostError::Status { status: 503, tries: 3, .. }), "{error}");
    }
}
