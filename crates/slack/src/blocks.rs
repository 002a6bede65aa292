//! The messages quarry posts to Slack: the instant acknowledgement, the answer, help and
//! errors, as Block Kit JSON (<https://api.slack.com/reference/block-kit/blocks>).
//!
//! Every piece of user or data text is escaped for Slack's mrkdwn (`&`, `<`, `>`, see
//! <https://api.slack.com/reference/surfaces/formatting#escaping>) and cut to fit the limits in
//! [`crate::limits`], so [`answer_message`] never produces a message Slack would refuse.

use serde::{Deserialize, Serialize};
use serde_json::{Number, Value, json};

use crate::limits::{MAX_ALT_TEXT, MAX_BUTTON_TEXT, MAX_BUTTON_VALUE, MAX_TEXT_OBJECT, MAX_URL, slack_len};

/// The command users are told to run in help and clarification replies.
pub const ASK_COMMAND: &str = "/ask";
/// Buttons offered for a clarification's options (the first ones; every option is also listed
/// as a command to run).
pub const MAX_OPTION_BUTTONS: usize = 5;
/// The start of the option buttons' `action_id`s (`quarry_option_0`, `quarry_option_1`, …): a
/// click on one comes back to `POST /slack/interactions` with the option in its `value`.
pub const OPTION_ACTION_PREFIX: &str = "quarry_option_";
/// The `block_id` of the option buttons' actions block.
pub const OPTIONS_BLOCK_ID: &str = "quarry_options";
/// The `action_id` of the "Ask an analyst" button: a click comes back to `POST
/// /slack/interactions` with the answer's id in its `value`.
pub const ASK_ANALYST_ACTION: &str = "quarry_ask_analyst";
/// The `block_id` of the "Ask an analyst" button's actions block.
pub const ASK_ANALYST_BLOCK_ID: &str = "quarry_ask_analyst";
/// Table rows shown in a Slack answer; the rest is in quarry.
pub const MAX_TABLE_ROWS: usize = 20;
/// Characters shown of one table cell.
pub const MAX_CELL_CHARS: usize = 30;
/// Characters of table width before further columns are left out.
pub const MAX_TABLE_WIDTH: usize = 100;

const ELLIPSIS: &str = "…";
const MAX_QUESTION_CHARS: usize = 300;
const MAX_FALLBACK_TEXT: usize = 3_000;

/// What kind of answer quarry produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerKind {
    /// A result, with its summary, table, chart and SQL.
    Answered,
    /// The question was ambiguous; `clarification_options` are the readings to choose from.
    NeedsClarification,
    /// The data cannot answer it; `summary` says why.
    CannotAnswer,
}

/// Who sees a message posted to `response_url`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseType {
    /// Only the user who ran the command.
    #[default]
    Ephemeral,
    /// Everyone in the channel.
    InChannel,
}

impl ResponseType {
    /// Slack's name for it, the `response_type` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ephemeral => "ephemeral",
            Self::InChannel => "in_channel",
        }
    }
}

/// An answer as the Slack reply shows it; the server fills it from its own answer type.
#[derive(Debug, Clone, PartialEq)]
pub struct SlackAnswer {
    /// The question as asked.
    pub question: String,
    /// What kind of answer this is.
    pub status: AnswerKind,
    /// The answer in words (or why there is none).
    pub summary: String,
    /// Result column names.
    pub columns: Vec<String>,
    /// Result rows, one value per column.
    pub rows: Vec<Vec<Value>>,
    /// Whether `rows` is only the start of a larger result.
    pub truncated: bool,
    /// The SQL that produced the result.
    pub sql: Option<String>,
    /// A (signed, expiring) URL of the chart as an image Slack can fetch.
    pub chart_image_url: Option<String>,
    /// The chart's title.
    pub chart_title: Option<String>,
    /// The conversation in quarry's web UI.
    pub conversation_url: Option<String>,
    /// Readings of an ambiguous question, each a question the user can ask instead.
    pub clarification_options: Vec<String>,
    /// Caveats worth showing (filters assumed, data freshness, …).
    pub notes: Vec<String>,
    /// How the answer was made: `builtin` or a model id.
    pub route: String,
    /// The data snapshot the answer came from.
    pub snapshot_id: String,
}

/// The immediate reply to the slash command, seen only by its user while quarry works.
pub fn ack_message(question: &str) -> Value {
    json!({
        "response_type": "ephemeral",
        "text": format!(
            "Working on it: {}{ELLIPSIS}",
            escaped_within(question.trim(), MAX_QUESTION_CHARS).trim_end_matches(ELLIPSIS)
        ),
    })
}

/// The answer, to post to `response_url`; always within Slack's limits.
pub fn answer_message(answer: &SlackAnswer, response_type: ResponseType) -> Value {
    let question = escaped_within(answer.question.trim(), MAX_QUESTION_CHARS);
    let summary = answer.summary.trim();
    let summary = match answer.status {
        AnswerKind::CannotAnswer if summary.is_empty() => "quarry can't answer this from the data it has.",
        AnswerKind::NeedsClarification if summary.is_empty() => "This question can be read more than one way.",
        _ if summary.is_empty() => "No summary.",
        _ => summary,
    };
    let head = if question.is_empty() { String::new() } else { format!("*{question}*\n") };
    let mut blocks =
        vec![mrkdwn_section(format!("{head}{}", escaped_within(summary, MAX_TEXT_OBJECT - slack_len(&head))))];
    match answer.status {
        AnswerKind::Answered => {
            if let Some(table) = table_section(answer) {
                blocks.push(table);
            }
            if let Some(image) = image_block(answer) {
                blocks.push(image);
            }
            if let Some(sql) = answer.sql.as_deref().filter(|sql| !sql.trim().is_empty()) {
                blocks.push(context(sql_text(sql)));
            }
        }
        AnswerKind::NeedsClarification => {
            blocks.extend(option_buttons(&answer.clarification_options));
            blocks.extend(options_section(&answer.clarification_options));
        }
        AnswerKind::CannotAnswer => {}
    }
    let notes: Vec<&str> = answer.notes.iter().map(|n| n.trim()).filter(|n| !n.is_empty()).collect();
    if !notes.is_empty() {
        blocks.push(context(bulleted(&notes, "", MAX_TEXT_OBJECT)));
    }
    let route = escaped_within(&code_safe(answer.route.trim()), 200);
    let snapshot = escaped_within(&code_safe(answer.snapshot_id.trim()), 200);
    let mut meta = Vec::new();
    if !route.is_empty() {
        meta.push(format!("route `{route}`"));
    }
    if !snapshot.is_empty() {
        meta.push(format!("snapshot `{snapshot}`"));
    }
    if !meta.is_empty() {
        blocks.push(context(meta.join(" · ")));
    }
    if let Some(link) = answer.conversation_url.as_deref().and_then(|url| link(url, "Open in quarry")) {
        blocks.push(mrkdwn_section(format!("{link} for the full result, chart and SQL.")));
    }
    json!({
        "response_type": response_type.as_str(),
        "replace_original": false,
        "text": escaped_within(summary, MAX_FALLBACK_TEXT),
        "blocks": blocks,
    })
}

/// `message` with an "Ask an analyst" button for the answer `answer_id`, which hands the
/// question to a person (see [`ASK_ANALYST_ACTION`]).
pub fn with_ask_analyst_button(message: &Value, answer_id: &str) -> Value {
    let mut message = message.clone();
    if answer_id.is_empty() || slack_len(answer_id) > MAX_BUTTON_VALUE {
        return message;
    }
    let button = json!({
        "type": "actions",
        "block_id": ASK_ANALYST_BLOCK_ID,
        "elements": [{
            "type": "button",
            "text": {"type": "plain_text", "text": "Ask an analyst"},
            "action_id": ASK_ANALYST_ACTION,
            "value": answer_id,
        }],
    });
    if let Some(blocks) = message.get_mut("blocks").and_then(Value::as_array_mut) {
        blocks.push(button);
    }
    message
}

/// `message` marked as a person's answer: "Answered by `analyst`" under its first block.
pub fn with_answered_by(message: &Value, analyst: &str) -> Value {
    let mut message = message.clone();
    let mark = context(format!("Answered by *{}*, an analyst", escaped_within(analyst.trim(), 200)));
    if let Some(blocks) = message.get_mut("blocks").and_then(Value::as_array_mut) {
        let at = blocks.len().min(1);
        blocks.insert(at, mark);
    }
    message
}

/// `message` without its image blocks. Slack refuses a whole message (`invalid_blocks`) when it
/// cannot download an image, so a server whose chart links Slack cannot reach can post this
/// after a 400 instead of losing the answer.
pub fn without_images(message: &Value) -> Value {
    let mut message = message.clone();
    if let Some(blocks) = message.get_mut("blocks").and_then(Value::as_array_mut) {
        blocks.retain(|block| block.get("type").and_then(Value::as_str) != Some("image"));
    }
    message
}

/// An error reply in plain words, seen only by the user who ran the command.
pub fn error_message(message: &str, hint: Option<&str>) -> Value {
    let message = message.trim();
    let mut text = escaped_within(if message.is_empty() { "Something went wrong." } else { message }, 2_000);
    if let Some(hint) = hint.map(str::trim).filter(|hint| !hint.is_empty()) {
        text = format!("{text}\n{}", escaped_within(hint, 900));
    }
    json!({"response_type": "ephemeral", "replace_original": false, "text": text})
}

/// How to use the command, with example questions, seen only by the user who asked for it.
/// `command` is the command as typed (e.g. `/ask`).
pub fn help_message<S: AsRef<str>>(command: &str, examples: &[S]) -> Value {
    let command = code_safe(command.trim());
    let command = escaped_within(if command.is_empty() { ASK_COMMAND } else { &command }, 50);
    let usage = format!(
        "Ask quarry a question about your product data, for example `{command} weekly signups by channel`. \
         You get a summary, a table, a chart and the SQL behind them."
    );
    let mut blocks = vec![mrkdwn_section(usage.clone())];
    let examples: Vec<String> = examples
        .iter()
        .map(|e| e.as_ref().trim())
        .filter(|e| !e.is_empty())
        .map(|e| format!("`{command} {}`", escaped_within(&code_safe(e), 300)))
        .collect();
    if !examples.is_empty() {
        let refs: Vec<&str> = examples.iter().map(String::as_str).collect();
        blocks.push(mrkdwn_section(bulleted_raw(&refs, "*Try:*\n", MAX_TEXT_OBJECT)));
    }
    json!({"response_type": "ephemeral", "replace_original": false, "text": usage, "blocks": blocks})
}

fn mrkdwn_section(text: String) -> Value {
    json!({"type": "section", "text": {"type": "mrkdwn", "text": text}})
}

fn context(text: String) -> Value {
    json!({"type": "context", "elements": [{"type": "mrkdwn", "text": text}]})
}

/// `text` escaped for mrkdwn and cut with an ellipsis to at most `max` Slack characters.
pub fn escaped_within(text: &str, max: usize) -> String {
    within(text, max, true)
}

/// `text` cut with an ellipsis to at most `max` Slack characters (for `plain_text` and alt text).
fn plain_within(text: &str, max: usize) -> String {
    within(text, max, false)
}

fn within(text: &str, max: usize, escape: bool) -> String {
    let piece = |c: char| -> Option<&'static str> {
        match c {
            '&' if escape => Some("&amp;"),
            '<' if escape => Some("&lt;"),
            '>' if escape => Some("&gt;"),
            _ => None,
        }
    };
    let mut out = String::new();
    let mut len = 0;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let width = piece(c).map_or(c.len_utf16(), str::len);
        // Room for the ellipsis is kept unless this is the last character.
        let reserve = if chars.peek().is_some() { 1 } else { 0 };
        if len + width + reserve > max {
            if len < max {
                out.push_str(ELLIPSIS);
            }
            return out;
        }
        match piece(c) {
            Some(entity) => out.push_str(entity),
            None => out.push(c),
        }
        len += width;
    }
    out
}

/// Text safe inside a code span or block: backticks would end it, newlines break a span.
fn code_safe(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '`' => 'ˋ',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect()
}

/// Already-formatted lines as a bulleted list after `head`, as many as fit in `max`.
fn bulleted_raw(lines: &[&str], head: &str, max: usize) -> String {
    let mut out = head.to_owned();
    for (index, line) in lines.iter().enumerate() {
        let item = format!("• {line}\n");
        let more = format!("…and {} more", lines.len() - index);
        let room = if index + 1 < lines.len() { slack_len(&more) } else { 0 };
        if slack_len(&out) + slack_len(&item) + room > max {
            out.push_str(&more);
            return out;
        }
        out.push_str(&item);
    }
    out.trim_end().to_owned()
}

/// User or data text lines, escaped and each cut to a fair share, bulleted within `max`.
fn bulleted(lines: &[&str], head: &str, max: usize) -> String {
    let escaped: Vec<String> = lines.iter().map(|line| escaped_within(line, 500)).collect();
    let refs: Vec<&str> = escaped.iter().map(String::as_str).collect();
    bulleted_raw(&refs, head, max)
}

/// `text` cut, without an ellipsis, to at most `max` Slack characters: for values that code
/// reads back rather than people.
fn cut_within(text: &str, max: usize) -> String {
    let mut len = 0;
    text.chars()
        .take_while(|c| {
            len += c.len_utf16();
            len <= max
        })
        .collect()
}

/// One button per option (the first [`MAX_OPTION_BUTTONS`]): the label is the option cut to
/// Slack's button text limit, the value the whole option, which a click asks.
fn option_buttons(options: &[String]) -> Option<Value> {
    let buttons: Vec<Value> = options
        .iter()
        .map(|o| o.trim())
        .filter(|o| !o.is_empty())
        .take(MAX_OPTION_BUTTONS)
        .enumerate()
        .map(|(index, option)| {
            let label: String = option.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
            json!({
                "type": "button",
                "text": {"type": "plain_text", "text": plain_within(&label, MAX_BUTTON_TEXT)},
                "value": cut_within(option, MAX_BUTTON_VALUE),
                "action_id": format!("{OPTION_ACTION_PREFIX}{index}"),
            })
        })
        .collect();
    (!buttons.is_empty()).then(|| json!({"type": "actions", "block_id": OPTIONS_BLOCK_ID, "elements": buttons}))
}

/// Every option as a command to run, for Slack clients that show no buttons.
fn options_section(options: &[String]) -> Option<Value> {
    let options: Vec<String> = options
        .iter()
        .map(|o| o.trim())
        .filter(|o| !o.is_empty())
        .map(|o| format!("`{ASK_COMMAND} {}`", escaped_within(&code_safe(o), 300)))
        .collect();
    if options.is_empty() {
        return None;
    }
    let refs: Vec<&str> = options.iter().map(String::as_str).collect();
    Some(mrkdwn_section(bulleted_raw(&refs, "Or run one of these:\n", MAX_TEXT_OBJECT)))
}

fn image_block(answer: &SlackAnswer) -> Option<Value> {
    let url = answer.chart_image_url.as_deref()?.trim();
    if url.is_empty() || slack_len(url) > MAX_URL || !(url.starts_with("https://") || url.starts_with("http://")) {
        return None;
    }
    let title = answer.chart_title.as_deref().map(str::trim).filter(|t| !t.is_empty());
    let alt = match title {
        Some(title) => format!("Chart: {title}"),
        None => format!("Chart for: {}", answer.question.trim()),
    };
    let mut image = json!({"type": "image", "image_url": url, "alt_text": plain_within(&alt, MAX_ALT_TEXT)});
    if let Some(title) = title {
        image["title"] = json!({"type": "plain_text", "text": plain_within(title, MAX_ALT_TEXT)});
    }
    Some(image)
}

fn sql_text(sql: &str) -> String {
    const HEAD: &str = "SQL\n```";
    const TAIL: &str = "```";
    const CUT_NOTE: &str = "\n_The SQL was cut to fit in Slack; the full query is in quarry._";
    let sql = code_safe_multiline(sql.trim());
    let full = escaped_within(&sql, usize::MAX);
    if slack_len(HEAD) + slack_len(&full) + slack_len(TAIL) <= MAX_TEXT_OBJECT {
        return format!("{HEAD}{full}{TAIL}");
    }
    let room = MAX_TEXT_OBJECT - slack_len(HEAD) - slack_len(TAIL) - slack_len(CUT_NOTE);
    format!("{HEAD}{}{TAIL}{CUT_NOTE}", escaped_within(&sql, room))
}

/// Like [`code_safe`] but keeps line breaks, for code blocks.
fn code_safe_multiline(text: &str) -> String {
    text.lines().map(code_safe).collect::<Vec<_>>().join("\n")
}

/// `<url|label>` when `url` can be linked safely.
fn link(url: &str, label: &str) -> Option<String> {
    let url = url.trim();
    let linkable = (url.starts_with("https://") || url.starts_with("http://"))
        && !url.chars().any(|c| c == '|' || c.is_whitespace() || c.is_control())
        && slack_len(url) <= 2_500;
    linkable.then(|| format!("<{}|{label}>", escaped_within(url, usize::MAX)))
}

fn table_section(answer: &SlackAnswer) -> Option<Value> {
    if answer.columns.is_empty() {
        return None;
    }
    let header: Vec<String> = answer.columns.iter().map(|c| cell_text(c)).collect();
    let rows: Vec<Vec<String>> = answer
        .rows
        .iter()
        .take(MAX_TABLE_ROWS)
        .map(|row| (0..header.len()).map(|i| row.get(i).map_or_else(String::new, format_value)).collect())
        .collect();
    let numeric: Vec<bool> = (0..header.len())
        .map(|i| {
            let mut values =
                answer.rows.iter().take(MAX_TABLE_ROWS).filter_map(|row| row.get(i)).filter(|v| !v.is_null());
            values.clone().next().is_some() && values.all(Value::is_number)
        })
        .collect();
    // Columns left to right while the table stays readable in Slack's width.
    let mut shown_columns = 0;
    let mut width = 0;
    for (index, name) in header.iter().enumerate() {
        let column = rows.iter().map(|row| row[index].chars().count()).chain([name.chars().count()]).max().unwrap_or(0);
        let added = column + if index > 0 { 2 } else { 0 };
        if index > 0 && width + added > MAX_TABLE_WIDTH {
            break;
        }
        width += added;
        shown_columns += 1;
    }
    let total_rows = answer.rows.len();
    let mut shown_rows = rows.len();
    loop {
        let table = render_table(&header[..shown_columns], &rows[..shown_rows], &numeric[..shown_columns]);
        let note = table_note(shown_rows, total_rows, answer.truncated, shown_columns, header.len());
        let text = format!("```\n{}\n```{note}", escaped_within(&table, usize::MAX));
        if slack_len(&text) <= MAX_TEXT_OBJECT || shown_rows == 0 {
            return Some(mrkdwn_section(text));
        }
        shown_rows -= 1;
    }
}

fn table_note(shown_rows: usize, total_rows: usize, truncated: bool, shown_columns: usize, columns: usize) -> String {
    let mut parts = Vec::new();
    if total_rows == 0 {
        parts.push("No rows.".to_owned());
    } else if shown_rows < total_rows {
        parts.push(format!("First {shown_rows} of {} rows", group_digits(&total_rows.to_string())));
    } else if truncated {
        parts.push(format!("All {} rows quarry kept", group_digits(&total_rows.to_string())));
    }
    if truncated && total_rows > 0 {
        parts.push("the result had more".to_owned());
    }
    if shown_columns < columns {
        parts.push(format!("{shown_columns} of {columns} columns"));
    }
    if parts.is_empty() { String::new() } else { format!("\n_{}._", parts.join("; ")) }
}

fn render_table(header: &[String], rows: &[Vec<String>], numeric: &[bool]) -> String {
    use comfy_table::{CellAlignment, Table, TableComponent, presets};
    let mut table = Table::new();
    table.load_preset(presets::NOTHING).set_style(TableComponent::HeaderLines, '-');
    table.set_style(TableComponent::MiddleHeaderIntersections, ' ');
    table.set_header(header.to_vec());
    for row in rows {
        table.add_row(row[..header.len()].to_vec());
    }
    for (index, column) in table.column_iter_mut().enumerate() {
        column.set_padding((0, 1));
        if numeric[index] {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    table.lines().map(|line| line.trim_end().to_owned()).collect::<Vec<_>>().join("\n")
}

/// One cell as shown: readable numbers, one line, at most [`MAX_CELL_CHARS`].
fn format_value(value: &Value) -> String {
    let text = match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => format_number(n),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    cell_text(&text)
}

fn cell_text(text: &str) -> String {
    let text = code_safe(text.trim());
    if text.chars().count() <= MAX_CELL_CHARS {
        return text;
    }
    let mut cut: String = text.chars().take(MAX_CELL_CHARS - 1).collect();
    cut.push_str(ELLIPSIS);
    cut
}

/// Integers with thousands separators; other numbers to two decimals (four below one), with
/// trailing zeros dropped, and scientific notation for the very large and very small.
pub fn format_number(number: &Number) -> String {
    if let Some(i) = number.as_i64() {
        return group_digits(&i.to_string());
    }
    if let Some(u) = number.as_u64() {
        return group_digits(&u.to_string());
    }
    let Some(f) = number.as_f64() else { return number.to_string() };
    let abs = f.abs();
    if !f.is_finite() || abs >= 1e15 || (abs != 0.0 && abs < 1e-4) {
        return format!("{f:.3e}");
    }
    let fixed = format!("{f:.*}", if abs >= 1.0 { 2 } else { 4 });
    let fixed = if fixed.contains('.') { fixed.trim_end_matches('0').trim_end_matches('.') } else { &fixed };
    match fixed {
        "-0" => "0".to_owned(),
        fixed => group_digits(fixed),
    }
}

/// `-1234567.5` → `-1,234,567.5`.
fn group_digits(number: &str) -> String {
    let (sign, rest) = number.strip_prefix('-').map_or(("", number), |rest| ("-", rest));
    let (int, frac) = rest.split_once('.').map_or((rest, None), |(i, f)| (i, Some(f)));
    let mut grouped = String::new();
    for (index, digit) in int.chars().enumerate() {
        if index > 0 && (int.len() - index) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    match frac {
        Some(frac) => format!("{sign}{grouped}.{frac}"),
        None => format!("{sign}{grouped}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::check_message;

    pub(crate) fn answer() -> SlackAnswer {
        SlackAnswer {
            question: "weekly signups by channel".into(),
            status: AnswerKind::Answered,
            summary: "Signups rose 12% week over week, led by <paid> & organic.".into(),
            columns: vec!["week".into(), "channel".into(), "signups".into()],
            rows: vec![
                vec![json!("2024-01-01"), json!("paid"), json!(1234567)],
                vec![json!("2024-01-08"), json!("organic"), json!(89.5)],
            ],
            truncated: false,
            sql: Some("SELECT week, channel, count(*) AS signups\nFROM signups\nGROUP BY 1, 2".into()),
            chart_image_url: Some("https://quarry.example/api/v1/charts/abc.png?expires=1&sig=ff".into()),
            chart_title: Some("Weekly signups".into()),
            conversation_url: Some("https://quarry.example/c/42?x=1&y=2".into()),
            clarification_options: vec![],
            notes: vec!["Counts exclude test accounts.".into()],
            route: "builtin".into(),
            snapshot_id: "snap-1".into(),
        }
    }

    fn block_texts(message: &Value) -> Vec<String> {
        message["blocks"].as_array().unwrap().iter().map(|b| b.to_string()).collect()
    }

    #[test]
    fn an_answer_has_summary_table_chart_sql_meta_and_link() {
        let message = answer_message(&answer(), ResponseType::InChannel);
        assert_eq!(check_message(&message), vec![]);
        assert_eq!(message["response_type"], "in_channel");
        assert_eq!(message["replace_original"], false);
        assert_eq!(message["text"], "Signups rose 12% week over week, led by &lt;paid&gt; &amp; organic.");
        let blocks = message["blocks"].as_array().unwrap();
        let types: Vec<&str> = blocks.iter().map(|b| b["type"].as_str().unwrap()).collect();
        assert_eq!(types, ["section", "section", "image", "context", "context", "context", "section"]);
        assert!(blocks[0]["text"]["text"].as_str().unwrap().starts_with("*weekly signups by channel*\n"));
        let table = blocks[1]["text"]["text"].as_str().unwrap();
        assert!(table.contains("1,234,567") && table.contains("89.5"), "{table}");
        assert_eq!(blocks[2]["image_url"], "https://quarry.example/api/v1/charts/abc.png?expires=1&sig=ff");
        assert_eq!(blocks[2]["alt_text"], "Chart: Weekly signups");
        assert!(blocks[3].to_string().contains("SELECT week"));
        assert!(blocks[5].to_string().contains("route `builtin` · snapshot `snap-1`"));
        assert_eq!(
            blocks[6]["text"]["text"],
            "<https://quarry.example/c/42?x=1&amp;y=2|Open in quarry> for the full result, chart and SQL."
        );
    }

    #[test]
    fn the_table_aligns_columns_and_right_aligns_numbers() {
        let message = answer_message(&answer(), ResponseType::Ephemeral);
        let table = message["blocks"][1]["text"]["text"].as_str().unwrap();
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines[0], "```");
        assert_eq!(lines[1], "week        channel    signups", "{table}");
        assert!(lines[2].starts_with("----"), "{table}");
        assert!(lines[3].ends_with("1,234,567") && lines[4].ends_with("     89.5"), "{table}");
        assert_eq!(lines[5], "```");
    }

    fn clarification(options: &[&str]) -> SlackAnswer {
        let mut clarify = answer();
        clarify.status = AnswerKind::NeedsClarification;
        clarify.summary = "Which signups?".into();
        clarify.clarification_options = options.iter().map(|o| o.to_string()).collect();
        clarify
    }

    #[test]
    fn clarifications_offer_a_button_per_option_and_list_commands_to_run() {
        let clarify = clarification(&["weekly signups by channel (web)", "trial `signups`"]);
        let message = answer_message(&clarify, ResponseType::Ephemeral);
        assert_eq!(check_message(&message), vec![]);
        let blocks = message["blocks"].as_array().unwrap();
        let types: Vec<&str> = blocks.iter().map(|b| b["type"].as_str().unwrap()).collect();
        assert_eq!(types, ["section", "actions", "section", "context", "context", "section"]);
        assert_eq!(blocks[1]["block_id"], OPTIONS_BLOCK_ID);
        assert_eq!(
            blocks[1]["elements"],
            json!([
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "weekly signups by channel (web)"},
                    "value": "weekly signups by channel (web)",
                    "action_id": "quarry_option_0",
                },
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "trial `signups`"},
                    "value": "trial `signups`",
                    "action_id": "quarry_option_1",
                },
            ])
        );
        let texts = block_texts(&message).join("\n");
        assert!(texts.contains("Or run one of these:"), "{texts}");
        assert!(texts.contains("• `/ask weekly signups by channel (web)`"), "{texts}");
        assert!(texts.contains("• `/ask trial ˋsignupsˋ`"), "{texts}");
        assert!(!texts.contains("```"), "no table or SQL for a clarification");
    }

    #[test]
    fn at_most_five_buttons_but_every_option_as_a_command() {
        let options: Vec<String> = (0..7).map(|i| format!("option {i}")).collect();
        let refs: Vec<&str> = options.iter().map(String::as_str).collect();
        let message = answer_message(&clarification(&refs), ResponseType::Ephemeral);
        assert_eq!(check_message(&message), vec![]);
        let buttons = message["blocks"][1]["elements"].as_array().unwrap();
        let ids: Vec<&str> = buttons.iter().map(|b| b["action_id"].as_str().unwrap()).collect();
        assert_eq!(
            ids,
            ["quarry_option_0", "quarry_option_1", "quarry_option_2", "quarry_option_3", "quarry_option_4"]
        );
        let list = message["blocks"][2]["text"]["text"].as_str().unwrap();
        assert!(list.contains("`/ask option 0`") && list.contains("`/ask option 6`"), "{list}");
    }

    #[test]
    fn button_labels_and_values_are_cut_to_slacks_limits() {
        let long = format!("signups by channel {}", "and by country ".repeat(20));
        let huge = "📈".repeat(1_500);
        let message = answer_message(&clarification(&[&long, &huge, "two\nlines"]), ResponseType::Ephemeral);
        assert_eq!(check_message(&message), vec![]);
        let buttons = message["blocks"][1]["elements"].as_array().unwrap();
        let label = buttons[0]["text"]["text"].as_str().unwrap();
        assert_eq!(slack_len(label), MAX_BUTTON_TEXT);
        assert!(label.starts_with("signups by channel and") && label.ends_with('…'), "{label}");
        assert_eq!(buttons[0]["value"], long.trim(), "the value is the whole question");
        let value = buttons[1]["value"].as_str().unwrap();
        assert_eq!(value, "📈".repeat(1_000), "cut at 2000 UTF-16 units, between characters, with no ellipsis");
        assert_eq!(buttons[2]["text"]["text"], "two lines");
        assert_eq!(buttons[2]["value"], "two\nlines");
    }

    #[test]
    fn the_ask_analyst_button_carries_the_answer_id_and_the_analyst_is_named() {
        let message = answer_message(&answer(), ResponseType::Ephemeral);
        let with_button = with_ask_analyst_button(&message, "ans-123");
        let last = with_button["blocks"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(last["elements"][0]["action_id"], ASK_ANALYST_ACTION);
        assert_eq!(last["elements"][0]["value"], "ans-123");
        assert!(crate::check_message(&with_button).is_empty());
        assert_eq!(with_ask_analyst_button(&message, ""), message, "no answer, no button");
        let marked = with_answered_by(&message, "carl <admin>");
        assert_eq!(marked["blocks"][1]["elements"][0]["text"], "Answered by *carl &lt;admin&gt;*, an analyst");
        assert_eq!(marked["blocks"].as_array().unwrap().len(), message["blocks"].as_array().unwrap().len() + 1);
    }

    #[test]
    fn blank_options_get_no_button_and_no_options_no_actions_block() {
        let message = answer_message(&clarification(&["  ", "revenue by plan "]), ResponseType::Ephemeral);
        let buttons = message["blocks"][1]["elements"].as_array().unwrap();
        assert_eq!(buttons.len(), 1);
        assert_eq!(buttons[0]["value"], "revenue by plan");
        assert_eq!(buttons[0]["action_id"], "quarry_option_0");
        let message = answer_message(&clarification(&[" "]), ResponseType::Ephemeral);
        assert!(!message.to_string().contains("\"actions\""), "{message}");
        assert!(!message.to_string().contains("Or run one of these"), "{message}");
    }

    #[test]
    fn cannot_answer_says_so_in_words() {
        let mut refused = answer();
        refused.status = AnswerKind::CannotAnswer;
        refused.summary = String::new();
        let message = answer_message(&refused, ResponseType::Ephemeral);
        assert_eq!(check_message(&message), vec![]);
        assert_eq!(message["text"], "quarry can't answer this from the data it has.");
        assert!(!block_texts(&message).join("").contains("image"));
    }

    #[test]
    fn small_messages_escape_and_stay_ephemeral() {
        let ack = ack_message("a <b> & c");
        assert_eq!(ack, json!({"response_type": "ephemeral", "text": "Working on it: a &lt;b&gt; &amp; c…"}));
        assert!(ack_message(&"q".repeat(1000))["text"].as_str().unwrap().ends_with("q…"));
        let error = error_message("The question is too long.", Some("Ask in under 500 characters."));
        assert_eq!(error["text"], "The question is too long.\nAsk in under 500 characters.");
        assert_eq!(error["response_type"], "ephemeral");
        let help = help_message("/ask", &["signups by week", ""]);
        assert_eq!(check_message(&help), vec![]);
        let text = help.to_string();
        assert!(
            text.contains("`/ask weekly signups by channel`") && text.contains("• `/ask signups by week`"),
            "{text}"
        );
    }

    #[test]
    fn images_can_be_dropped_for_a_retry() {
        let message = answer_message(&answer(), ResponseType::Ephemeral);
        let plain = without_images(&message);
        assert_eq!(plain["blocks"].as_array().unwrap().len(), message["blocks"].as_array().unwrap().len() - 1);
        assert!(!plain.to_string().contains("\"image\""));
        assert_eq!(plain["text"], message["text"]);
    }

    #[test]
    fn numbers_read_well() {
        let n = |v: Value| format_number(v.as_number().unwrap());
        assert_eq!(n(json!(0)), "0");
        assert_eq!(n(json!(-1234)), "-1,234");
        assert_eq!(n(json!(u64::MAX)), "18,446,744,073,709,551,615");
        assert_eq!(n(json!(1234.5678)), "1,234.57");
        assert_eq!(n(json!(0.123456)), "0.1235");
        assert_eq!(n(json!(2.0)), "2");
        assert_eq!(n(json!(-0.00001)), "-1.000e-5");
        assert_eq!(n(json!(1e20)), "1.000e20");
    }

    #[test]
    fn cutting_keeps_entities_whole_and_adds_an_ellipsis() {
        assert_eq!(escaped_within("abc", 3), "abc");
        assert_eq!(escaped_within("abcd", 3), "ab…");
        assert_eq!(escaped_within("a&b", 5), "a…");
        assert_eq!(escaped_within("📈📈📈", 4), "📈…");
        assert!(slack_len(&escaped_within(&"&".repeat(1000), 3000)) <= 3000);
    }
}
