//! A chat model on loopback that answers at once: it looks the question up in the labeled
//! set and replies with its gold SQL, so what the model route costs beyond the model itself
//! (retrieval, the prompt, HTTP, parsing, validation, execution) can be measured.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::routing::post;
use serde_json::{Value, json};

/// Question → SQL pairs, longest question first so that the most specific one matches.
#[derive(Debug, Clone)]
struct Answers(Arc<Vec<(String, String)>>);

/// A running endpoint; it stops when dropped.
#[derive(Debug)]
pub struct InstantModel {
    /// Its OpenAI-compatible base URL (`http://127.0.0.1:PORT/v1`).
    pub base_url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for InstantModel {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl InstantModel {
    /// Serves `pairs` of (question, SQL) on a free loopback port.
    pub async fn start(pairs: Vec<(String, String)>) -> anyhow::Result<Self> {
        let mut pairs = pairs;
        pairs.sort_by_key(|(question, _)| std::cmp::Reverse(question.len()));
        let app =
            axum::Router::new().route("/v1/chat/completions", post(complete)).with_state(Answers(Arc::new(pairs)));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base_url = format!("http://{}/v1", listener.local_addr()?);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { base_url, task })
    }
}

async fn complete(State(answers): State<Answers>, Json(request): Json<Value>) -> Json<Value> {
    let asked = request["messages"]
        .as_array()
        .and_then(|messages| messages.iter().rev().find(|m| m["role"] == "user"))
        .and_then(|m| m["content"].as_str())
        .unwrap_or_default();
    let sql = answers
        .0
        .iter()
        .find(|(question, _)| asked.contains(question.as_str()))
        .map_or("SELECT 1 AS unknown_question", |(_, sql)| sql.as_str());
    let content = json!({ "sql": sql, "explanation": "the labeled set's gold SQL", "chart": null }).to_string();
    Json(json!({
        "id": "chatcmpl-instant",
        "object": "chat.completion",
        "choices": [{ "index": 0, "message": { "role": "assistant", "content": content }, "finish_reason": "stop" }],
        "usage": { "prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0 }
    }))
}
