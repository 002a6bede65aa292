//! Slack's documented Block Kit limits, checked on a message payload before it is sent: Slack
//! rejects a message that breaks any of them (`invalid_blocks`), so the user would see nothing.
//!
//! Sources (Slack API reference):
//! - blocks: <https://api.slack.com/reference/block-kit/blocks> — "up to 50 blocks in each
//!   message"; `block_id` at most 255 characters;
//! - section: <https://api.slack.com/reference/block-kit/blocks#section> — `text` at most 3000
//!   characters, `fields` at most 10 items of at most 2000 characters each;
//! - header: <https://api.slack.com/reference/block-kit/blocks#header> — `text` at most 150;
//! - context: <https://api.slack.com/reference/block-kit/blocks#context> — at most 10 elements;
//! - image: <https://api.slack.com/reference/block-kit/blocks#image> — `image_url` at most 3000,
//!   `alt_text` at most 2000, `title` at most 2000;
//! - actions: <https://api.slack.com/reference/block-kit/blocks#actions> — at most 25 elements;
//! - text objects: <https://api.slack.com/reference/block-kit/composition-objects#text> — `text`
//!   at least 1 and at most 3000 characters;
//! - button: <https://api.slack.com/reference/block-kit/block-elements#button> — `text` at most
//!   75, `url` at most 3000, `value` at most 2000, `action_id` at most 255;
//! - top-level `text`: <https://api.slack.com/methods/chat.postMessage#truncating> — messages
//!   over 40,000 characters are truncated (and 4,000 is the recommended most).
//!
//! Slack does not say how it counts characters; lengths here are UTF-16 code units, which is
//! never fewer than Unicode scalar values, so a message that passes here passes either way.

use std::fmt;

use serde_json::Value;

/// Blocks in one message.
pub const MAX_BLOCKS: usize = 50;
/// Characters in a message's top-level `text`.
pub const MAX_MESSAGE_TEXT: usize = 40_000;
/// Characters in any text object, section `text` included.
pub const MAX_TEXT_OBJECT: usize = 3_000;
/// Items in a section's `fields`.
pub const MAX_SECTION_FIELDS: usize = 10;
/// Characters in each section field.
pub const MAX_SECTION_FIELD_TEXT: usize = 2_000;
/// Characters in a header's text.
pub const MAX_HEADER_TEXT: usize = 150;
/// Elements in a context block.
pub const MAX_CONTEXT_ELEMENTS: usize = 10;
/// Elements in an actions block.
pub const MAX_ACTIONS_ELEMENTS: usize = 25;
/// Characters in an image URL (image blocks, image elements, button URLs).
pub const MAX_URL: usize = 3_000;
/// Characters in an image's `alt_text` and `title`.
pub const MAX_ALT_TEXT: usize = 2_000;
/// Characters in a `block_id` or `action_id`.
pub const MAX_ID: usize = 255;
/// Characters in a button's label.
pub const MAX_BUTTON_TEXT: usize = 75;
/// Characters in a button's `value`.
pub const MAX_BUTTON_VALUE: usize = 2_000;

/// One broken limit: where, which rule, and by how much.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitViolation {
    /// JSON path to the offending value, e.g. `blocks[2].text.text`.
    pub path: String,
    /// The rule, in words.
    pub rule: &'static str,
    /// The limit (a minimum for "at least" rules).
    pub limit: usize,
    /// The value found.
    pub actual: usize,
}

impl fmt::Display for LimitViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} (limit {}, found {})", self.path, self.rule, self.limit, self.actual)
    }
}

/// The length Slack limits are checked against (see the module docs).
pub fn slack_len(text: &str) -> usize {
    text.encode_utf16().count()
}

/// Every documented limit `message` breaks; empty when Slack will accept it.
pub fn check_message(message: &Value) -> Vec<LimitViolation> {
    let mut check = Checker::default();
    if let Some(text) = message.get("text").and_then(Value::as_str) {
        check.at_most("text".into(), "message text at most 40000 characters", MAX_MESSAGE_TEXT, slack_len(text));
    }
    if let Some(blocks) = message.get("blocks").and_then(Value::as_array) {
        check.at_most("blocks".into(), "at most 50 blocks per message", MAX_BLOCKS, blocks.len());
        for (index, block) in blocks.iter().enumerate() {
            check.block(&format!("blocks[{index}]"), block);
        }
    }
    check.violations
}

#[derive(Default)]
struct Checker {
    violations: Vec<LimitViolation>,
}

impl Checker {
    fn at_most(&mut self, path: String, rule: &'static str, limit: usize, actual: usize) {
        if actual > limit {
            self.violations.push(LimitViolation { path, rule, limit, actual });
        }
    }

    fn string(&mut self, value: &Value, path: String, rule: &'static str, limit: usize) {
        if let Some(text) = value.as_str() {
            self.at_most(path, rule, limit, slack_len(text));
        }
    }

    fn array_len(&mut self, value: Option<&Value>, path: String, rule: &'static str, limit: usize) {
        if let Some(items) = value.and_then(Value::as_array) {
            self.at_most(path, rule, limit, items.len());
        }
    }

    /// A composition text object: 1 to 3000 characters, or less where the block says so.
    fn text_object(&mut self, object: &Value, path: &str, rule: &'static str, limit: usize) {
        let Some(text) = object.get("text").and_then(Value::as_str) else { return };
        let len = slack_len(text);
        if len == 0 {
            let rule = "text objects need at least 1 character";
            self.violations.push(LimitViolation { path: format!("{path}.text"), rule, limit: 1, actual: 0 });
        }
        self.at_most(format!("{path}.text"), rule, limit.min(MAX_TEXT_OBJECT), len);
    }

    fn block(&mut self, path: &str, block: &Value) {
        if let Some(id) = block.get("block_id") {
            self.string(id, format!("{path}.block_id"), "block_id at most 255 characters", MAX_ID);
        }
        match block.get("type").and_then(Value::as_str) {
            Some("section") => {
                if let Some(text) = block.get("text") {
                    self.text_object(text, &format!("{path}.text"), "section text at most 3000 characters", 3000);
                }
                let fields = block.get("fields");
                self.array_len(fields, format!("{path}.fields"), "section fields at most 10", MAX_SECTION_FIELDS);
                for (index, field) in fields.and_then(Value::as_array).into_iter().flatten().enumerate() {
                    let rule = "section field text at most 2000 characters";
                    self.text_object(field, &format!("{path}.fields[{index}]"), rule, MAX_SECTION_FIELD_TEXT);
                }
                if let Some(accessory) = block.get("accessory") {
                    self.element(&format!("{path}.accessory"), accessory);
                }
            }
            Some("header") => {
                if let Some(text) = block.get("text") {
                    let rule = "header text at most 150 characters";
                    self.text_object(text, &format!("{path}.text"), rule, MAX_HEADER_TEXT);
                }
            }
            Some("context") => {
                let elements = block.get("elements");
                let rule = "context elements at most 10";
                self.array_len(elements, format!("{path}.elements"), rule, MAX_CONTEXT_ELEMENTS);
                for (index, element) in elements.and_then(Value::as_array).into_iter().flatten().enumerate() {
                    self.element(&format!("{path}.elements[{index}]"), element);
                }
            }
            Some("actions") => {
                let elements = block.get("elements");
                let rule = "actions elements at most 25";
                self.array_len(elements, format!("{path}.elements"), rule, MAX_ACTIONS_ELEMENTS);
                for (index, element) in elements.and_then(Value::as_array).into_iter().flatten().enumerate() {
                    self.element(&format!("{path}.elements[{index}]"), element);
                }
            }
            Some("image") => self.image(path, block),
            _ => {}
        }
    }

    fn image(&mut self, path: &str, image: &Value) {
        if let Some(url) = image.get("image_url") {
            self.string(url, format!("{path}.image_url"), "image_url at most 3000 characters", MAX_URL);
        }
        if let Some(alt) = image.get("alt_text") {
            self.string(alt, format!("{path}.alt_text"), "alt_text at most 2000 characters", MAX_ALT_TEXT);
        }
        if let Some(title) = image.get("title") {
            self.text_object(title, &format!("{path}.title"), "image title at most 2000 characters", MAX_ALT_TEXT);
        }
    }

    fn element(&mut self, path: &str, element: &Value) {
        match element.get("type").and_then(Value::as_str) {
            Some("mrkdwn" | "plain_text") => {
                self.text_object(element, path, "text at most 3000 characters", MAX_TEXT_OBJECT);
            }
            Some("image") => self.image(path, element),
            Some("button") => {
                if let Some(text) = element.get("text") {
                    let rule = "button text at most 75 characters";
                    self.text_object(text, &format!("{path}.text"), rule, MAX_BUTTON_TEXT);
                }
                if let Some(url) = element.get("url") {
                    self.string(url, format!("{path}.url"), "button url at most 3000 characters", MAX_URL);
                }
                if let Some(value) = element.get("value") {
                    let rule = "button value at most 2000 characters";
                    self.string(value, format!("{path}.value"), rule, MAX_BUTTON_VALUE);
                }
                if let Some(id) = element.get("action_id") {
                    self.string(id, format!("{path}.action_id"), "action_id at most 255 characters", MAX_ID);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn rules(message: &Value) -> Vec<(String, &'static str)> {
        check_message(message).into_iter().map(|v| (v.path, v.rule)).collect()
    }

    #[test]
    fn a_small_message_passes() {
        let message = json!({"text": "hi", "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": "hi"}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "x"}]},
        ]});
        assert_eq!(rules(&message), vec![]);
    }

    #[test]
    fn each_limit_is_caught_just_past_its_edge() {
        let long = |n: usize| "x".repeat(n);
        let section = |n| json!({"type": "section", "text": {"type": "mrkdwn", "text": long(n)}});
        assert!(check_message(&json!({"blocks": [section(3000)]})).is_empty());
        assert_eq!(
            rules(&json!({"blocks": [section(3001)]})),
            [("blocks[0].text.text".into(), "section text at most 3000 characters")]
        );
        assert_eq!(rules(&json!({"blocks": [section(0)]}))[0].1, "text objects need at least 1 character");
        let blocks: Vec<_> = (0..51).map(|_| section(1)).collect();
        assert_eq!(rules(&json!({"blocks": blocks}))[0].1, "at most 50 blocks per message");
        assert_eq!(rules(&json!({"text": long(40_001)}))[0].0, "text");
        let header = json!({"type": "header", "text": {"type": "plain_text", "text": long(151)}});
        assert_eq!(rules(&json!({"blocks": [header]}))[0].1, "header text at most 150 characters");
        let field = json!({"type": "mrkdwn", "text": long(2001)});
        let fields = json!({"type": "section", "fields": vec![field; 11]});
        assert_eq!(check_message(&json!({"blocks": [fields]})).len(), 12);
        let elements = vec![json!({"type": "mrkdwn", "text": long(3001)}); 11];
        assert_eq!(check_message(&json!({"blocks": [{"type": "context", "elements": elements}]})).len(), 12);
        let image = json!({"type": "image", "image_url": long(3001), "alt_text": long(2001), "block_id": long(256)});
        assert_eq!(check_message(&json!({"blocks": [image]})).len(), 3);
        let button = json!({"type": "button", "text": {"type": "plain_text", "text": long(76)}, "url": long(3001)});
        assert_eq!(check_message(&json!({"blocks": [{"type": "actions", "elements": [button]}]})).len(), 2);
    }

    #[test]
    fn lengths_count_utf16_units() {
        assert_eq!(slack_len("é"), 1);
        assert_eq!(slack_len("📈"), 2);
        let section = json!({"type": "section", "text": {"type": "mrkdwn", "text": "📈".repeat(1501)}});
        assert_eq!(check_message(&json!({"blocks": [section]})).len(), 1);
    }
}
