//! The client of OpenAI-compatible `/chat/completions` endpoints (OpenAI, vLLM, Ollama,
//! llama.cpp server, LM Studio).
//!
//! Retries follow `quarry_retrieve`'s embeddings client: `backon` exponential backoff with
//! jitter on 429, 5xx, timeouts and connection errors, honouring `Retry-After`.

use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use quarry_http::{Attempt, RetryPolicy, retry_after, root_cause, with_retries};
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};

use crate::config::{ModelConfig, StructuredOutput};
use crate::context::PromptContext;
use crate::prompt::{ChatMessage, Role, build_sql_prompt, build_summary_prompt, estimate_tokens, prompt_hash};
use crate::reply::{Answer, SqlReply, TokenUsage, correction_message, parse_answer, response_format};
use crate::{Error, Result};

/// Wait before the first retry; it doubles with each retry (with jitter).
const INITIAL_BACKOFF: Duration = Duration::from_millis(250);
/// Longest wait between retries, `Retry-After` included, so that a server asking for minutes
/// gives an error rather than a hang.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// A chat model behind an OpenAI-compatible endpoint.
///
/// The structured-output mode starts at the configured one and steps down (JSON schema, JSON
/// object, plain) the first time the endpoint rejects `response_format`; the client remembers
/// the working mode for its lifetime, so a llama.cpp or Ollama server without JSON-schema
/// support costs one rejected request, not one per question.
pub struct OpenAiChatModel {
    config: ModelConfig,
    endpoint: reqwest::Url,
    client: reqwest::Client,
    mode: AtomicU8,
}

impl std::fmt::Debug for OpenAiChatModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiChatModel")
            .field("endpoint", &self.endpoint.as_str())
            .field("model", &self.config.model)
            .field("structured_output", &self.structured_output())
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct ChatRequest<'a> {
    model: &'a str,
    messages: &'a [ChatMessage],
    temperature: f32,
    max_tokens: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_format: Option<serde_json::Value>,
    stream: bool,
}

#[derive(Deserialize)]
struct ChatResponse {
    choices: Vec<Choice>,
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct Choice {
    message: ResponseMessage,
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct ResponseMessage {
    content: Option<String>,
    /// OpenAI's structured-output refusal.
    refusal: Option<String>,
}

#[derive(Deserialize)]
struct Usage {
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
    total_tokens: Option<u64>,
}

/// One answered chat completion.
struct Completion {
    content: String,
    /// The structured-output mode the request was answered in.
    mode: StructuredOutput,
    usage: TokenUsage,
    truncated: bool,
}

/// `60 s`, `1.5 s` or `300 ms`.
fn human_duration(ms: u64) -> String {
    match ms {
        _ if ms.is_multiple_of(1000) => format!("{} s", ms / 1000),
        _ if ms >= 1000 => format!("{:.1} s", ms as f64 / 1000.0),
        _ => format!("{ms} ms"),
    }
}

/// Whether a 400 answer is the endpoint rejecting `response_format`.
fn rejects_response_format(error: &Error) -> bool {
    match error {
        Error::Http { status: 400, message } => {
            let message = message.to_lowercase();
            ["response_format", "response format", "json_schema", "json_object"].iter().any(|w| message.contains(w))
        }
        _ => false,
    }
}

/// One paragraph: lines folded into spaces.
fn one_paragraph(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl OpenAiChatModel {
    /// A client for `config`, checked: a bad URL, an empty model name, zero timeouts, an
    /// out-of-range temperature or negative prices are [`Error::Config`]. Nothing is sent yet.
    pub fn new(config: ModelConfig) -> Result<Self> {
        config.check()?;
        let endpoint = config.endpoint()?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(config.timeout_ms))
            .connect_timeout(Duration::from_millis(config.connect_timeout_ms))
            .build()
            .map_err(|e| Error::config(format!("cannot create the HTTP client: {e}")))?;
        let mode = AtomicU8::new(config.structured_output.to_u8());
        Ok(Self { config, endpoint, client, mode })
    }

    /// `openai:<model>`, e.g. `openai:gpt-4o-mini`, for the audit record.
    pub fn model_id(&self) -> String {
        format!("openai:{}", self.config.model)
    }

    /// The `/chat/completions` URL requests go to.
    pub fn endpoint(&self) -> &str {
        self.endpoint.as_str()
    }

    /// The structured-output mode requests use now (it steps down when the endpoint rejects one).
    pub fn structured_output(&self) -> StructuredOutput {
        StructuredOutput::from_u8(self.mode.load(Ordering::Relaxed))
    }

    /// The SQL for `ctx.question`, from the prompt of [`build_sql_prompt`].
    ///
    /// The answer must be JSON `{"sql", "explanation", "chart", "cannot_answer"}`. Malformed
    /// output is retried once with a correction message; malformed again is
    /// [`Error::MalformedOutput`] with the raw output. `{"sql": null, "cannot_answer": …}` is
    /// [`Error::Refused`]. The SQL is returned exactly as written: the SQL policy checks it.
    pub async fn write_sql(&self, ctx: &PromptContext) -> Result<SqlReply> {
        let prompt = build_sql_prompt(ctx, &self.config);
        let hash = prompt_hash(&prompt);
        let mut messages = prompt.messages;
        let mut usage = TokenUsage::default();
        let mut model_calls = 0;
        loop {
            let completion = self.complete(&messages, true).await?;
            usage += completion.usage;
            model_calls += 1;
            let reason = match parse_answer(&completion.content, completion.mode) {
                Ok(Answer::Sql { sql, explanation, chart }) => {
                    return Ok(SqlReply {
                        sql,
                        explanation,
                        chart,
                        usage,
                        raw: completion.content,
                        model_calls,
                        prompt_hash: hash,
                    });
                }
                Ok(Answer::CannotAnswer(message)) => return Err(Error::Refused { message }),
                Err(reason) if completion.truncated => format!(
                    "{reason} (the answer was cut off at model.max_output_tokens = {})",
                    self.config.max_output_tokens
                ),
                Err(reason) => reason,
            };
            if model_calls >= 2 {
                return Err(Error::MalformedOutput { reason, raw: completion.content });
            }
            tracing::warn!(%reason, "the model's answer is malformed, asking for a correction");
            messages.push(ChatMessage::new(Role::Assistant, completion.content));
            messages.push(ChatMessage::new(Role::User, correction_message(&reason)));
        }
    }

    /// The answer's one-paragraph summary, in plain text, from the prompt of
    /// [`crate::build_summary_prompt`]: at most [`crate::MAX_SUMMARY_ROWS`] of `sample_rows`
    /// are shown, whatever the caller passes. The caller leaves personal-data columns out.
    pub async fn write_summary(
        &self,
        question: &str,
        columns: &[String],
        sample_rows: &[Vec<serde_json::Value>],
        sql: &str,
    ) -> Result<(String, TokenUsage)> {
        let prompt = build_summary_prompt(question, columns, sample_rows, sql);
        let completion = self.complete(&prompt.messages, false).await?;
        let summary = one_paragraph(&completion.content);
        if summary.is_empty() {
            return Err(Error::MalformedOutput { reason: "the summary is empty".into(), raw: completion.content });
        }
        Ok((summary, completion.usage))
    }

    /// One chat completion with retries; with `json`, in the current structured-output mode,
    /// stepping down when the endpoint rejects it.
    async fn complete(&self, messages: &[ChatMessage], json: bool) -> Result<Completion> {
        loop {
            let mode = self.structured_output();
            let request = ChatRequest {
                model: &self.config.model,
                messages,
                temperature: self.config.temperature,
                max_tokens: self.config.max_output_tokens,
                response_format: if json { response_format(mode) } else { None },
                stream: false,
            };
            match self.send(&request).await {
                Err(error) if json && rejects_response_format(&error) => {
                    let Some(weaker) = mode.weaker() else { return Err(error) };
                    // Another request may have stepped down already; either way, try the weaker mode.
                    let _ =
                        self.mode.compare_exchange(mode.to_u8(), weaker.to_u8(), Ordering::Relaxed, Ordering::Relaxed);
                    tracing::warn!(?mode, ?weaker, %error, "the model endpoint rejects this response_format, stepping down");
                }
                Err(error) => return Err(error),
                Ok(response) => return self.read_completion(messages, response, mode),
            }
        }
    }

    /// Sends with retries on 429, 5xx, timeouts and connection errors.
    async fn send(&self, request: &ChatRequest<'_>) -> Result<ChatResponse> {
        let policy = RetryPolicy {
            max_retries: self.config.max_retries,
            initial_backoff: INITIAL_BACKOFF,
            max_backoff: MAX_BACKOFF,
        };
        with_retries(&policy, "model request", || self.attempt(request)).await.map_err(|(attempt, tries)| match attempt
            .error
        {
            Error::Unavailable { what, message } if tries > 1 => {
                Error::Unavailable { what, message: format!("{message} (tried {tries} times)") }
            }
            Error::Timeout { what, message } if tries > 1 => {
                Error::Timeout { what, message: format!("{message} (tried {tries} times)") }
            }
            Error::Http { status, message } if attempt.retryable && tries > 1 => {
                Error::Http { status, message: format!("{message} (tried {tries} times)") }
            }
            error => error,
        })
    }

    async fn attempt(&self, body: &ChatRequest<'_>) -> Result<ChatResponse, Attempt<Error>> {
        let mut request = self.client.post(self.endpoint.clone()).json(body);
        if !self.config.api_key.is_empty() {
            request = request.bearer_auth(&self.config.api_key);
        }
        let response = request.send().await.map_err(|e| self.transport_error(e))?;
        let status = response.status();
        if !status.is_success() {
            let wait = retry_after(&response);
            let text = response.text().await.unwrap_or_default();
            let detail: String = text.chars().take(500).collect();
            let retryable = status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error();
            let message = match status {
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                    format!("{} refused the request: check model.api_key. {detail}", self.endpoint)
                }
                StatusCode::NOT_FOUND => format!(
                    "{} was not found: model.base_url should be the API root ending in /v1, and the model '{}' \
                     must be served there. {detail}",
                    self.endpoint, self.config.model
                ),
                StatusCode::TOO_MANY_REQUESTS => {
                    format!("{} is rate limiting requests; wait, or raise the rate limit. {detail}", self.endpoint)
                }
                _ if status.is_server_error() => {
                    format!("{} failed; check the model server's logs. {detail}", self.endpoint)
                }
                _ => format!("{} rejected the request. {detail}", self.endpoint),
            };
            return Err(Attempt {
                error: Error::Http { status: status.as_u16(), message },
                retryable,
                retry_after: wait,
            });
        }
        response.json::<ChatResponse>().await.map_err(|e| {
            if e.is_timeout() {
                self.transport_error(e)
            } else {
                Attempt::fatal(Error::MalformedOutput {
                    reason: format!("{} answered something that is not a chat completion: {e}", self.endpoint),
                    raw: String::new(),
                })
            }
        })
    }

    fn read_completion(
        &self,
        messages: &[ChatMessage],
        response: ChatResponse,
        mode: StructuredOutput,
    ) -> Result<Completion> {
        let Some(choice) = response.choices.into_iter().next() else {
            return Err(Error::MalformedOutput {
                reason: format!("{} answered a chat completion without choices", self.endpoint),
                raw: String::new(),
            });
        };
        if let Some(refusal) = choice.message.refusal.filter(|r| !r.trim().is_empty()) {
            return Err(Error::Refused { message: refusal });
        }
        let content = choice.message.content.unwrap_or_default();
        // Some servers send no usage; an estimate keeps cost accounting from reading zero.
        let (prompt_tokens, completion_tokens, total_tokens) = match response.usage {
            Some(Usage { prompt_tokens: Some(p), completion_tokens: Some(c), total_tokens }) => {
                (p, c, total_tokens.unwrap_or(p + c))
            }
            _ => {
                let p = messages.iter().map(|m| estimate_tokens(&m.content)).sum::<usize>() as u64;
                let c = estimate_tokens(&content) as u64;
                (p, c, p + c)
            }
        };
        let cost_usd = prompt_tokens as f64 * self.config.input_price_per_million / 1e6
            + completion_tokens as f64 * self.config.output_price_per_million / 1e6;
        Ok(Completion {
            content,
            mode,
            usage: TokenUsage { prompt_tokens, completion_tokens, total_tokens, cost_usd },
            truncated: choice.finish_reason.as_deref() == Some("length"),
        })
    }

    fn transport_error(&self, error: reqwest::Error) -> Attempt<Error> {
        let what = format!("the model endpoint {}", self.endpoint);
        if error.is_timeout() {
            let message = format!(
                "it did not answer within {} (model.timeout_ms); check that the server is running and not \
                 overloaded, or raise model.timeout_ms",
                human_duration(self.config.timeout_ms)
            );
            return Attempt { error: Error::Timeout { what, message }, retryable: true, retry_after: None };
        }
        let message = if error.is_connect() {
            format!(
                "cannot connect ({}); check that the server is running and that model.base_url points to it",
                root_cause(&error)
            )
        } else {
            format!("the request failed: {}", root_cause(&error))
        };
        Attempt { error: Error::Unavailable { what, message }, retryable: true, retry_after: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human_duration(60_000), "60 s");
        assert_eq!(human_duration(1_500), "1.5 s");
        assert_eq!(human_duration(300), "300 ms");
    }

    #[test]
    fn only_400s_about_response_format_step_down() {
        let http = |status, message: &str| Error::Http { status, message: message.into() };
        assert!(rejects_response_format(&http(400, "Unsupported value: 'response_format.type'")));
        assert!(rejects_response_format(&http(400, "json_schema is not supported")));
        assert!(!rejects_response_format(&http(400, "context length exceeded")));
        assert!(!rejects_response_format(&http(500, "response_format")));
    }

    #[test]
    fn the_debug_output_never_shows_the_api_key() {
        let model =
            OpenAiChatModel::new(ModelConfig { api_key: "sk-secret".into(), ..ModelConfig::default() }).unwrap();
        assert!(!format!("{model:?}").contains("sk-secret"));
        assert_eq!(model.model_id(), "openai:gpt-4o-mini");
    }
}
