//! Typed settings of the model provider (the `model` section of quarry's settings).

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// How the model is asked for JSON.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StructuredOutput {
    /// `response_format: {"type": "json_schema", …}` with the answer's schema (OpenAI, vLLM,
    /// recent llama.cpp and Ollama). Falls back to [`StructuredOutput::JsonObject`] when the
    /// endpoint rejects it.
    #[default]
    JsonSchema,
    /// `response_format: {"type": "json_object"}`: any JSON object. Falls back to
    /// [`StructuredOutput::Plain`] when the endpoint rejects it.
    JsonObject,
    /// No `response_format`: the prompt asks for JSON and the first JSON object of the answer
    /// is taken (a ```` ```json ```` fenced block is fine).
    Plain,
}

impl StructuredOutput {
    /// The next weaker mode, tried when the endpoint rejects this one.
    pub(crate) fn weaker(self) -> Option<Self> {
        match self {
            StructuredOutput::JsonSchema => Some(StructuredOutput::JsonObject),
            StructuredOutput::JsonObject => Some(StructuredOutput::Plain),
            StructuredOutput::Plain => None,
        }
    }

    pub(crate) fn to_u8(self) -> u8 {
        match self {
            StructuredOutput::JsonSchema => 0,
            StructuredOutput::JsonObject => 1,
            StructuredOutput::Plain => 2,
        }
    }

    pub(crate) fn from_u8(value: u8) -> Self {
        match value {
            0 => StructuredOutput::JsonSchema,
            1 => StructuredOutput::JsonObject,
            _ => StructuredOutput::Plain,
        }
    }
}

/// Settings of the OpenAI-compatible chat model ([`crate::OpenAiChatModel`]).
///
/// Its `Debug` output hides the API key.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelConfig {
    /// The API root; `/chat/completions` is appended. E.g. `https://api.openai.com/v1`, or
    /// `http://127.0.0.1:8080/v1` for llama.cpp, vLLM, Ollama (`:11434/v1`) or LM Studio.
    pub base_url: String,
    /// The model name sent with each request.
    pub model: String,
    /// Sent as a bearer token; empty means none. The binary fills it from
    /// `QUARRY_MODEL__API_KEY`: library code never reads the environment.
    pub api_key: String,
    /// Time limit of one request, connection included, in milliseconds.
    pub timeout_ms: u64,
    /// Time limit for connecting, in milliseconds.
    pub connect_timeout_ms: u64,
    /// Retries of a request after 429, 5xx, a timeout or a connection error.
    pub max_retries: usize,
    /// Sampling temperature; 0 for the most repeatable SQL.
    pub temperature: f32,
    /// Most tokens the model may write per answer.
    pub max_output_tokens: u32,
    /// How JSON is asked for.
    pub structured_output: StructuredOutput,
    /// Most tokens the SQL prompt may take, estimated as characters / 4 (close enough for
    /// English and SQL with common tokenizers, and needs no tokenizer). Over budget, sample
    /// values go first, then examples, then column descriptions, then older conversation.
    pub prompt_token_budget: usize,
    /// Turns of the conversation shown in full; older ones are shown as one line each.
    pub conversation_window: usize,
    /// Price of a million prompt tokens in USD, for cost accounting.
    pub input_price_per_million: f64,
    /// Price of a million completion tokens in USD, for cost accounting.
    pub output_price_per_million: f64,
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            base_url: "http://127.0.0.1:8080/v1".into(),
            model: "gpt-4o-mini".into(),
            api_key: String::new(),
            timeout_ms: 60_000,
            connect_timeout_ms: 5_000,
            max_retries: 3,
            temperature: 0.0,
            max_output_tokens: 1024,
            structured_output: StructuredOutput::JsonSchema,
            prompt_token_budget: 6000,
            conversation_window: 4,
            input_price_per_million: 0.0,
            output_price_per_million: 0.0,
        }
    }
}

impl std::fmt::Debug for ModelConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Self {
            base_url,
            model,
            api_key,
            timeout_ms,
            connect_timeout_ms,
            max_retries,
            temperature,
            max_output_tokens,
            structured_output,
            prompt_token_budget,
            conversation_window,
            input_price_per_million,
            output_price_per_million,
        } = self;
        f.debug_struct("ModelConfig")
            .field("base_url", base_url)
            .field("model", model)
            .field("api_key", &if api_key.is_empty() { "" } else { "<redacted>" })
            .field("timeout_ms", timeout_ms)
            .field("connect_timeout_ms", connect_timeout_ms)
            .field("max_retries", max_retries)
            .field("temperature", temperature)
            .field("max_output_tokens", max_output_tokens)
            .field("structured_output", structured_output)
            .field("prompt_token_budget", prompt_token_budget)
            .field("conversation_window", conversation_window)
            .field("input_price_per_million", input_price_per_million)
            .field("output_price_per_million", output_price_per_million)
            .finish()
    }
}

impl ModelConfig {
    /// The `/chat/completions` URL, checked.
    pub(crate) fn endpoint(&self) -> Result<reqwest::Url> {
        let base = self.base_url.trim().trim_end_matches('/');
        let endpoint = reqwest::Url::parse(&format!("{base}/chat/completions")).map_err(|e| {
            Error::config(format!(
                "model.base_url '{}' is not a valid URL ({e}); write the API root, e.g. http://127.0.0.1:8080/v1",
                self.base_url
            ))
        })?;
        if !matches!(endpoint.scheme(), "http" | "https") {
            return Err(Error::config(format!(
                "model.base_url '{}' must start with http:// or https://",
                self.base_url
            )));
        }
        Ok(endpoint)
    }

    /// Every setting checked, so that a bad one fails before any request.
    pub(crate) fn check(&self) -> Result<()> {
        self.endpoint()?;
        if self.model.trim().is_empty() {
            return Err(Error::config("model.model is empty; set the name of the model the endpoint serves"));
        }
        if self.timeout_ms == 0 {
            return Err(Error::config("model.timeout_ms must be above zero (60000 is a good start)"));
        }
        if self.connect_timeout_ms == 0 {
            return Err(Error::config("model.connect_timeout_ms must be above zero (5000 is a good start)"));
        }
        if self.max_output_tokens == 0 {
            return Err(Error::config("model.max_output_tokens must be above zero (1024 is a good start)"));
        }
        if !self.temperature.is_finite() || !(0.0..=2.0).contains(&self.temperature) {
            return Err(Error::config(format!("model.temperature is {}; use a value from 0 to 2", self.temperature)));
        }
        if self.prompt_token_budget == 0 {
            return Err(Error::config("model.prompt_token_budget must be above zero (6000 is a good start)"));
        }
        for (name, price) in [
            ("input_price_per_million", self.input_price_per_million),
            ("output_price_per_million", self.output_price_per_million),
        ] {
            if !price.is_finite() || price < 0.0 {
                return Err(Error::config(format!("model.{name} is {price}; use a price in USD of 0 or more")));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_documented_values() {
        let config = ModelConfig::default();
        config.check().unwrap();
        assert_eq!(config.endpoint().unwrap().as_str(), "http://127.0.0.1:8080/v1/chat/completions");
        assert_eq!(config.structured_output, StructuredOutput::JsonSchema);
        assert_eq!((config.timeout_ms, config.max_retries, config.conversation_window), (60_000, 3, 4));
    }

    #[test]
    fn debug_output_hides_the_api_key() {
        let config = ModelConfig { api_key: "sk-secret".into(), ..ModelConfig::default() };
        let debug = format!("{config:?}");
        assert!(debug.contains("<redacted>") && !debug.contains("sk-secret"), "{debug}");
    }

    #[test]
    fn settings_deserialize_with_defaults_and_reject_unknown_keys() {
        let config: ModelConfig = serde_json::from_str(r#"{"model": "llama3", "structured_output": "plain"}"#).unwrap();
        assert_eq!(config.model, "llama3");
        assert_eq!(config.structured_output, StructuredOutput::Plain);
        assert_eq!(config.timeout_ms, 60_000);
        let error = serde_json::from_str::<ModelConfig>(r#"{"modle": "x"}"#).unwrap_err();
        assert!(error.to_string().contains("unknown field `modle`"), "{error}");
    }

    /// A change that breaks a setting, and what the error must mention.
    type BadSetting = (fn(&mut ModelConfig), &'static str);

    #[test]
    fn bad_settings_are_config_errors_that_name_the_setting() {
        let cases: [BadSetting; 6] = [
            (|c| c.base_url = "not a url".into(), "model.base_url"),
            (|c| c.base_url = "ftp://host/v1".into(), "http:// or https://"),
            (|c| c.model = " ".into(), "model.model"),
            (|c| c.timeout_ms = 0, "model.timeout_ms"),
            (|c| c.temperature = f32::NAN, "model.temperature"),
            (|c| c.output_price_per_million = -1.0, "model.output_price_per_million"),
        ];
        for (change, expected) in cases {
            let mut config = ModelConfig::default();
            change(&mut config);
            let error = config.check().unwrap_err();
            assert_eq!(error.kind(), "config");
            assert!(error.to_string().contains(expected), "{error} should mention {expected}");
        }
    }

    #[test]
    fn modes_fall_back_in_order_and_round_trip_through_u8() {
        assert_eq!(StructuredOutput::JsonSchema.weaker(), Some(StructuredOutput::JsonObject));
        assert_eq!(StructuredOutput::JsonObject.weaker(), Some(StructuredOutput::Plain));
        assert_eq!(StructuredOutput::Plain.weaker(), None);
        for mode in [StructuredOutput::JsonSchema, StructuredOutput::JsonObject, StructuredOutput::Plain] {
            assert_eq!(StructuredOutput::from_u8(mode.to_u8()), mode);
        }
    }
}
