//! Model answers through the server, with a scripted model (a real HTTP server on loopback):
//! the model's chart is drawn in the web chat's answer, and a chart that does not fit the
//! result is replaced by the chooser's with a note saying why; a cross-checked answer carries
//! its verdict in the API and both routes' SQL in the audit record.

mod common;

use common::{ask, call, get, model_server, model_settings, run};
use quarry_settings::Route;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SQL: &str = "SELECT plan, COUNT(*) AS subscriptions FROM subscriptions GROUP BY plan ORDER BY plan";

/// A model endpoint that answers every request with `SQL` and `chart`.
async fn model_with_chart(chart: Value) -> MockServer {
    let content = json!({ "sql": SQL, "explanation": "subscriptions per plan", "chart": chart }).to_string();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "chatcmpl-chart",
            "object": "chat.completion",
            "choices": [{ "index": 0, "message": { "role": "assistant", "content": content }, "finish_reason": "stop" }],
            "usage": { "prompt_tokens": 900, "completion_tokens": 40, "total_tokens": 940 }
        })))
        .mount(&server)
        .await;
    server
}

#[test]
fn the_web_chat_shows_the_models_chart() {
    run(async {
        let model = model_with_chart(json!({"mark": "arc", "x": "plan", "y": "subscriptions", "color": null})).await;
        let server = model_server(model_settings(&model.uri(), Route::ModelOnly, |_| {})).await;
        let app = server.router();
        let body = ask(&app, "subscriptions per plan", None).await.ok_json();
        assert_eq!(body["answer"]["route"], "openai:scripted", "{body}");
        assert_eq!(body["chart"]["kind"], "pie", "{body}");
        assert!(body["chart"]["reason"].as_str().unwrap_or_default().contains("the model's chart"), "{body}");
        assert_eq!(body["answer"]["chart"]["fallback"], Value::Null, "{body}");
        let svg = call(&app, get(body["chart"]["svg_url"].as_str().expect("svg_url"))).await;
        assert!(svg.content_type().starts_with("image/svg+xml"), "{}", svg.content_type());
        assert!(svg.text().contains("<svg"), "a drawn chart");
    });
}

#[test]
fn a_models_chart_that_does_not_fit_is_replaced_with_a_note() {
    run(async {
        let model = model_with_chart(json!({"mark": "line", "x": "month", "y": "subscriptions", "color": null})).await;
        let server = model_server(model_settings(&model.uri(), Route::ModelOnly, |_| {})).await;
        let app = server.router();
        let body = ask(&app, "subscriptions per plan", None).await.ok_json();
        assert_eq!(body["chart"]["kind"], "bar", "the chooser's chart: {body}");
        let fallback = body["answer"]["chart"]["fallback"].as_str().expect("the reason it was refused");
        assert!(fallback.contains("`month`"), "{fallback}");
        let notes = body["answer"]["notes"].to_string();
        assert!(notes.contains("chart spec was refused"), "{notes}");
    });
}

#[test]
fn a_cross_checked_answer_shows_its_verdict_and_audits_both_sqls() {
    run(async {
        let same = "SELECT signup_channel AS channel, COUNT(*) AS n FROM users \
             WHERE signup_at >= TIMESTAMP '2025-11-01 00:00:00' AND signup_at < TIMESTAMP '2025-12-01 00:00:00' \
             GROUP BY signup_channel";
        let content = json!({ "sql": same, "explanation": "signups per channel in November", "chart": null });
        let model = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "id": "chatcmpl-check",
                "object": "chat.completion",
                "choices": [{ "index": 0, "message": { "role": "assistant", "content": content.to_string() }, "finish_reason": "stop" }],
                "usage": { "prompt_tokens": 900, "completion_tokens": 40, "total_tokens": 940 }
            })))
            .mount(&model)
            .await;
        let mut settings = model_settings(&model.uri(), Route::BuiltinFirst, |_| {});
        settings.synthesis.cross_check = true;
        let server = model_server(settings).await;
        let body = ask(&server.router(), "signups by channel last month", None).await.ok_json();
        assert_eq!(body["answer"]["route"], "builtin", "{body}");
        let check = &body["answer"]["cross_check"];
        assert_eq!(check["verdict"], "agree", "{body}");
        assert_eq!(check["message"], "checked: two independent routes agree", "{body}");
        let request_id = body["request_id"].as_str().expect("request id");
        let record = server.state.store().audit(request_id).await.expect("audit").expect("recorded");
        let audited = &record.record["cross_check"];
        assert!(audited["model_sql"].as_str().unwrap_or_default().starts_with(same), "{audited}");
        assert_eq!(audited["planner_sql"], body["answer"]["sql"], "{audited}");
    });
}
