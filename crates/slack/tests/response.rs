//! Posting to response_url against a local receiver: success, retried 5xx and 429, and a 404
//! that is not retried.

use std::time::Duration;

use quarry_http::RetryPolicy;
use quarry_slack::{PostError, ResponseUrlClient, ack_message};
use serde_json::json;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn client() -> ResponseUrlClient {
    let retry = RetryPolicy { max_retries: 2, initial_backoff: Duration::ZERO, max_backoff: Duration::from_millis(50) };
    ResponseUrlClient::new(Duration::from_secs(5), retry).unwrap()
}

#[tokio::test]
async fn a_good_post_sends_the_payload_as_json() {
    let server = MockServer::start().await;
    let payload = ack_message("weekly signups");
    Mock::given(method("POST"))
        .and(path("/commands/T1/1/abc"))
        .and(header("content-type", "application/json"))
        .and(body_json(&payload))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .expect(1)
        .mount(&server)
        .await;
    client().post(&format!("{}/commands/T1/1/abc", server.uri()), &payload).await.unwrap();
}

#[tokio::test]
async fn a_server_error_is_retried_until_it_succeeds() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500).set_body_string("oops"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(200)).expect(1).mount(&server).await;
    client().post(&server.uri(), &json!({"text": "hi"})).await.unwrap();
}

#[tokio::test]
async fn rate_limits_are_retried_after_the_wait_slack_asks_for() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "0"))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(200)).expect(1).mount(&server).await;
    client().post(&server.uri(), &json!({"text": "hi"})).await.unwrap();
}

#[tokio::test]
async fn a_404_is_not_retried_and_says_the_url_expired() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(404).set_body_string("expired_url"))
        .expect(1)
        .mount(&server)
        .await;
    let error = client().post(&server.uri(), &json!({"text": "hi"})).await.unwrap_err();
    assert!(matches!(&error, PostError::Status { status: 404, tries: 1, body } if body == "expired_url"), "{error:?}");
    assert_eq!(error.kind(), "slack_response_url_expired");
}

#[tokio::test]
async fn persistent_failures_use_up_the_retries() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(503)).expect(3).mount(&server).await;
    let error = client().post(&server.uri(), &json!({"text": "hi"})).await.unwrap_err();
    assert!(matches!(error, PostError::Status { status: 503, tries: 3, .. }), "{error:?}");
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(307).insert_header("location", "/elsewhere"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/elsewhere"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let error = client().post(&format!("{}/hook", server.uri()), &json!({"text": "hi"})).await.unwrap_err();
    assert_eq!(error.kind(), "slack_response_rejected");
}

#[tokio::test]
async fn an_unreachable_receiver_is_a_transport_error() {
    // A port that was just free: nothing listens on it once the listener is dropped.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let uri = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let error = client().post(&uri, &json!({"text": "hi"})).await.unwrap_err();
    assert!(matches!(error, PostError::Transport { tries: 3, .. }), "{error:?}");
    assert_eq!(error.kind(), "slack_unreachable");
}
