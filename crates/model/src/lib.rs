//! The OpenAI-compatible chat model provider for SQL synthesis.
//!
//! [`OpenAiChatModel`] asks any OpenAI-compatible `/chat/completions` endpoint (OpenAI, vLLM,
//! Ollama, llama.cpp server, LM Studio) for the SQL that answers a question, as structured
//! JSON, and for an answer's one-paragraph summary. Requests have timeouts and retry with
//! backoff on 429 and 5xx, honouring `Retry-After`; every answer carries its token usage and
//! cost. A failing endpoint is a clear [`Error`], never a hang.
//!
//! The prompt is schema-aware and built from plain data, a [`PromptContext`]: the retrieved
//! tables and columns with types, descriptions and sample values, metric definitions,
//! verified examples, known values, time conventions with the snapshot's `as_of`, DataFusion
//! dialect notes, the conversation so far and failed attempts to repair.
//! [`prompt_context_from_layer`] gathers it from the semantic layer and never includes
//! personal-data columns. The user's question is fenced as data ([`build_sql_prompt`]). The
//! model's SQL is returned untouched: checking it is the SQL policy's job.
//!
//! # Layout
//! - `config`: [`ModelConfig`], the typed settings.
//! - `context`: [`PromptContext`] and [`prompt_context_from_layer`].
//! - `prompt`: [`build_sql_prompt`], [`build_summary_prompt`], [`prompt_hash`], the token budget.
//! - `reply`: the answer's JSON schema, strict parsing, [`SqlReply`] and [`TokenUsage`].
//! - `client`: [`OpenAiChatModel`], HTTP, retries and the structured-output fallback.
//!
//! ```no_run
//! use quarry_model::{ModelConfig, OpenAiChatModel, PromptContext};
//! # async fn run() -> quarry_model::Result<()> {
//! let model = OpenAiChatModel::new(ModelConfig {
//!     base_url: "http://127.0.0.1:11434/v1".into(),
//!     model: "qwen2.5-coder".into(),
//!     ..ModelConfig::default()
//! })?;
//! let ctx = PromptContext { question: "Revenue last month".into(), ..PromptContext::default() };
//! let reply = model.write_sql(&ctx).await?;
//! println!("{} ({} tokens)", reply.sql, reply.usage.total_tokens);
//! # Ok(())
//! # }
//! ```

mod client;
mod config;
mod context;
mod error;
mod prompt;
mod reply;

pub use client::OpenAiChatModel;
pub use config::{ModelConfig, StructuredOutput};
pub use context::{
    ColumnContext, ExampleContext, FailedAttempt, MetricContext, PromptContext, Relevant, TableContext, TurnContext,
    ValueContext, prompt_context_from_layer,
};
pub use error::{Error, Result};
pub use prompt::{
    ChatMessage, ChatPrompt, MAX_SUMMARY_ROWS, Role, build_sql_prompt, build_summary_prompt, escape_fences,
    estimate_tokens, prompt_hash,
};
pub use reply::{SqlReply, TokenUsage};
