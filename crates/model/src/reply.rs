//! The answer's JSON: the schema sent as `response_format`, and the strict reading of what
//! the model wrote.

use std::ops::{Add, AddAssign};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::config::StructuredOutput;

/// Tokens a model call took and what they cost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TokenUsage {
    /// Tokens of the prompt.
    pub prompt_tokens: u64,
    /// Tokens the model wrote.
    pub completion_tokens: u64,
    /// Both.
    pub total_tokens: u64,
    /// Cost in USD at the configured prices.
    pub cost_usd: f64,
}

impl Add for TokenUsage {
    type Output = TokenUsage;

    fn add(self, other: TokenUsage) -> TokenUsage {
        TokenUsage {
            prompt_tokens: self.prompt_tokens + other.prompt_tokens,
            completion_tokens: self.completion_tokens + other.completion_tokens,
            total_tokens: self.total_tokens + other.total_tokens,
            cost_usd: self.cost_usd + other.cost_usd,
        }
    }
}

impl AddAssign for TokenUsage {
    fn add_assign(&mut self, other: TokenUsage) {
        *self = *self + other;
    }
}

/// The model's SQL for a question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SqlReply {
    /// The SQL exactly as the model wrote it: checking it is the SQL policy's job.
    pub sql: String,
    /// What the query computes, in the model's words.
    pub explanation: String,
    /// The model's chart hint `{"mark", "x", "y", "color"}`, if it gave one.
    pub chart: Option<Value>,
    /// Tokens and cost over all calls of this answer (a correction included).
    pub usage: TokenUsage,
    /// The model's raw output that was read, for the audit record.
    pub raw: String,
    /// Chat completions this answer took: 1, or 2 after a correction.
    pub model_calls: u32,
    /// The hash of the prompt sent (see [`crate::prompt_hash`]), for the audit record.
    pub prompt_hash: String,
}

/// What a well-formed answer says.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Answer {
    /// SQL with its explanation and chart hint.
    Sql { sql: String, explanation: String, chart: Option<Value> },
    /// `{"sql": null, "cannot_answer": "…"}`.
    CannotAnswer(String),
}

/// The JSON schema of an answer; strict mode needs every property required and no others.
pub(crate) fn answer_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "sql": {"type": ["string", "null"], "description": "One DataFusion SELECT statement, or null when the question cannot be answered."},
            "explanation": {"type": "string", "description": "One or two sentences on what the query computes."},
            "chart": {
                "type": ["object", "null"],
                "properties": {
                    "mark": {"type": "string", "enum": ["bar", "line", "area", "point", "arc", "table"]},
                    "x": {"type": "string"},
                    "y": {"type": "string"},
                    "color": {"type": ["string", "null"]}
                },
                "required": ["mark", "x", "y", "color"],
                "additionalProperties": false
            },
            "cannot_answer": {"type": ["string", "null"], "description": "Why the listed tables cannot answer the question, else null."}
        },
        "required": ["sql", "explanation", "chart", "cannot_answer"],
        "additionalProperties": false
    })
}

/// The `response_format` of a mode; none for [`StructuredOutput::Plain`].
pub(crate) fn response_format(mode: StructuredOutput) -> Option<Value> {
    match mode {
        StructuredOutput::JsonSchema => Some(json!({
            "type": "json_schema",
            "json_schema": {"name": "quarry_sql", "strict": true, "schema": answer_schema()}
        })),
        StructuredOutput::JsonObject => Some(json!({"type": "json_object"})),
        StructuredOutput::Plain => None,
    }
}

/// Reads the model's output. With `response_format` the whole output must be one JSON object;
/// in [`StructuredOutput::Plain`] mode the first JSON object is taken (a ```` ```json ````
/// fenced block first). Types are checked strictly; unknown keys are ignored. The error is a
/// reason the model can act on in a correction.
pub(crate) fn parse_answer(content: &str, mode: StructuredOutput) -> Result<Answer, String> {
    let value: Value = match mode {
        StructuredOutput::Plain => {
            let object =
                extract_json_object(content).ok_or_else(|| "the answer contains no JSON object".to_string())?;
            serde_json::from_str(object).map_err(|e| format!("the JSON object is not valid JSON: {e}"))?
        }
        _ => serde_json::from_str(content.trim()).map_err(|e| format!("the answer is not valid JSON: {e}"))?,
    };
    let Value::Object(object) = value else {
        return Err("the answer is JSON but not an object".into());
    };
    read_answer(&object)
}

fn read_answer(object: &Map<String, Value>) -> Result<Answer, String> {
    let cannot_answer = match object.get("cannot_answer") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.trim()).filter(|s| !s.is_empty()),
        Some(_) => return Err("\"cannot_answer\" must be a string or null".into()),
    };
    let sql = match object.get("sql") {
        None => return Err("the key \"sql\" is missing".into()),
        Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err("\"sql\" must be a string holding one SELECT statement, or null".into()),
    };
    let Some(sql) = sql else {
        return match cannot_answer {
            Some(reason) => Ok(Answer::CannotAnswer(reason.to_string())),
            None => Err("\"sql\" is empty but \"cannot_answer\" does not say why".into()),
        };
    };
    let explanation = match object.get("explanation") {
        Some(Value::String(s)) => s.clone(),
        None => return Err("the key \"explanation\" is missing".into()),
        Some(_) => return Err("\"explanation\" must be a string".into()),
    };
    let chart = match object.get("chart") {
        None | Some(Value::Null) => None,
        Some(chart @ Value::Object(_)) => Some(chart.clone()),
        Some(_) => return Err("\"chart\" must be an object or null".into()),
    };
    Ok(Answer::Sql { sql, explanation, chart })
}

/// The first JSON object in `text`: the content of a ```` ```json ```` block if there is one,
/// else the first balanced `{…}` (braces inside strings do not count).
pub(crate) fn extract_json_object(text: &str) -> Option<&str> {
    if let Some(start) = text.find("```json") {
        let body = &text[start + "```json".len()..];
        if let Some(end) = body.find("```") {
            let block = body[..end].trim();
            if block.starts_with('{') {
                return Some(block);
            }
        }
    }
    let start = text.find('{')?;
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (offset, c) in text[start..].char_indices() {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(&text[start..start + offset + 1]);
                }
            }
            _ => {}
        }
    }
    None
}

/// The message that asks the model to answer again after malformed output.
pub(crate) fn correction_message(reason: &str) -> String {
    format!(
        "Your previous answer could not be read: {reason}. Answer again with only one JSON object of the form \
         {{\"sql\": \"<one SELECT statement>\" | null, \"explanation\": \"...\", \"chart\": {{...}} | null, \
         \"cannot_answer\": null | \"...\"}} and no other text."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"sql": "SELECT 1 AS one", "explanation": "One.", "chart": null, "cannot_answer": null}"#;

    #[test]
    fn a_good_answer_is_read_with_its_sql_untouched() {
        let content = r#"{"sql": "select  1 AS one ;\n", "explanation": "One.", "chart": {"mark": "bar", "x": "a", "y": "b", "color": null}, "cannot_answer": null}"#;
        let Answer::Sql { sql, explanation, chart } = parse_answer(content, StructuredOutput::JsonSchema).unwrap()
        else {
            panic!("an answer with SQL");
        };
        assert_eq!(sql, "select  1 AS one ;\n");
        assert_eq!(explanation, "One.");
        assert_eq!(chart.unwrap()["mark"], "bar");
    }

    #[test]
    fn cannot_answer_is_read_as_a_refusal() {
        let content = r#"{"sql": null, "explanation": "", "chart": null, "cannot_answer": "no salary data"}"#;
        assert_eq!(
            parse_answer(content, StructuredOutput::JsonObject).unwrap(),
            Answer::CannotAnswer("no salary data".into())
        );
    }

    #[test]
    fn malformed_answers_give_reasons_the_model_can_act_on() {
        let cases = [
            ("SELECT 1", "not valid JSON"),
            ("[1, 2]", "not an object"),
            (r#"{"explanation": "x"}"#, "\"sql\" is missing"),
            (r#"{"sql": 42, "explanation": "x"}"#, "\"sql\" must be a string"),
            (r#"{"sql": "SELECT 1"}"#, "\"explanation\" is missing"),
            (r#"{"sql": "SELECT 1", "explanation": "x", "chart": "bar"}"#, "\"chart\" must be an object"),
            (r#"{"sql": null, "explanation": ""}"#, "does not say why"),
            (r#"{"sql": "SELECT 1", "explanation": "x", "cannot_answer": 3}"#, "\"cannot_answer\" must be"),
        ];
        for (content, expected) in cases {
            let reason = parse_answer(content, StructuredOutput::JsonSchema).unwrap_err();
            assert!(reason.contains(expected), "{content}: {reason}");
        }
    }

    #[test]
    fn structured_modes_read_the_whole_output_and_plain_mode_extracts_the_object() {
        let chatty = format!("Here is the query:\n```json\n{GOOD}\n```\nHope it helps {{}}");
        assert!(parse_answer(&chatty, StructuredOutput::JsonSchema).is_err());
        assert!(matches!(parse_answer(&chatty, StructuredOutput::Plain), Ok(Answer::Sql { .. })));
        let bare = format!("Sure! {GOOD} Anything else?");
        assert!(matches!(parse_answer(&bare, StructuredOutput::Plain), Ok(Answer::Sql { .. })));
        assert_eq!(
            parse_answer("no json here", StructuredOutput::Plain).unwrap_err(),
            "the answer contains no JSON object"
        );
    }

    #[test]
    fn extraction_skips_braces_inside_strings() {
        let text = r#"x {"sql": "SELECT '}' AS brace, \"{\" AS q", "n": {"a": 1}} tail }"#;
        assert_eq!(extract_json_object(text).unwrap(), r#"{"sql": "SELECT '}' AS brace, \"{\" AS q", "n": {"a": 1}}"#);
        assert_eq!(extract_json_object("{ unbalanced"), None);
    }

    #[test]
    fn usage_adds_up() {
        let a = TokenUsage { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15, cost_usd: 0.5 };
        let mut b = a + a;
        b += a;
        assert_eq!(b, TokenUsage { prompt_tokens: 30, completion_tokens: 15, total_tokens: 45, cost_usd: 1.5 });
    }

    #[test]
    fn the_schema_is_strict_mode_compatible() {
        let format = response_format(StructuredOutput::JsonSchema).unwrap();
        assert_eq!(format["json_schema"]["name"], "quarry_sql");
        assert_eq!(format["json_schema"]["strict"], true);
        let schema = &format["json_schema"]["schema"];
        let properties: Vec<&String> = schema["properties"].as_object().unwrap().keys().collect();
        let required: Vec<&str> = schema["required"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        assert_eq!(properties.len(), required.len());
        assert!(properties.iter().all(|p| required.contains(&p.as_str())));
        assert_eq!(schema["additionalProperties"], false);
        assert_eq!(response_format(StructuredOutput::JsonObject).unwrap(), json!({"type": "json_object"}));
        assert_eq!(response_format(StructuredOutput::Plain), None);
    }
}
