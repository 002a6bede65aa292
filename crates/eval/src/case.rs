//! Labeled question sets: one JSON case per line.
use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::score::TieGroup;
use crate::{Error, Result};
use quarry_compare::ResultTable;

/// One labeled question.
///
/// On disk (one JSON object per line):
///
/// | field | meaning |
/// |---|---|
/// | `id` | unique string |
/// | `question` | the question as a person asks it |
/// | `gold_sql` | SQL that runs on the snapshot and returns the expected result |
/// | `gold_rows` | the expected result computed elsewhere: `{"columns": [...], "rows": [[...]]}` (see [`crate::Cell::from_json`]); when present it is the expected result and `gold_sql`, if also given, is kept for the gold replay and for deciding row order |
/// | `gold_sql_alternatives` | further SQL whose results are also accepted |
/// | `tags`, `difficulty` | for breakdowns |
/// | `snapshot` | snapshot id (or unique prefix); default the configured one |
/// | `conversation`, `turn` | follow-ups: turns of one conversation run in `turn` order in one session |
/// | `ordered` | whether row order matters; default: whether `gold_sql` has a top-level `ORDER BY` (unordered for `gold_rows` without SQL) |
/// | `gold_ties` | with `gold_rows` of an ordered gold: the groups of rows whose sort keys tie, `[{"start": i, "len": n, "rows": [[...], ...]}]` (see [`crate::TieGroup`]) |
/// | `expect` | `"clarify"` when a careful analyst would ask back: a clarification then counts as right (an answer is still scored against the gold, the most likely reading) |
/// | `gold_rows_alternatives` | further expected results, each `{"columns", "rows", "ties"?}`, also accepted (e.g. the gold computed with the snapshot's column types, or with the source engine's other tie order) |
///
/// At least one of `gold_sql` and `gold_rows` is required; unknown fields are refused so that
/// a misspelled field cannot silently drop a gold.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// Unique id.
    pub id: String,
    /// The question.
    pub question: String,
    /// Gold SQL.
    pub gold_sql: Option<String>,
    /// Expected rows.
    pub gold_rows: Option<ResultTable>,
    /// Alternative gold SQL.
    pub gold_sql_alternatives: Vec<String>,
    /// Tags for breakdowns.
    pub tags: Vec<String>,
    /// Difficulty label.
    pub difficulty: Option<String>,
    /// Snapshot id or prefix; `None` = the configured default.
    pub snapshot: Option<String>,
    /// Conversation id for follow-ups.
    pub conversation: Option<String>,
    /// Turn number within the conversation (1-based).
    pub turn: Option<u32>,
    /// Whether row order matters; `None` = decided from the gold SQL.
    pub ordered: Option<bool>,
    /// Tied rows of an ordered `gold_rows`.
    pub gold_ties: Vec<TieGroup>,
    /// Further expected results, with their tied rows.
    pub gold_rows_alternatives: Vec<(ResultTable, Vec<TieGroup>)>,
    /// The question is ambiguous: asking back counts as right.
    pub expect_clarification: bool,
    /// 1-based line number in the input file.
    pub line: usize,
}

/// A line of the input that could not be used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineError {
    /// 1-based line number.
    pub line: usize,
    /// What was wrong and how to fix it.
    pub message: String,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCase {
    id: String,
    question: String,
    #[serde(default)]
    gold_sql: Option<String>,
    #[serde(default)]
    gold_rows: Option<serde_json::Value>,
    #[serde(default)]
    gold_sql_alternatives: Vec<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    difficulty: Option<String>,
    #[serde(default)]
    snapshot: Option<String>,
    #[serde(default)]
    conversation: Option<String>,
    #[serde(default)]
    turn: Option<u32>,
    #[serde(default)]
    ordered: Option<bool>,
    #[serde(default)]
    gold_ties: Vec<RawTie>,
    #[serde(default)]
    gold_rows_alternatives: Vec<serde_json::Value>,
    #[serde(default)]
    expect: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTie {
    start: usize,
    len: usize,
    rows: Vec<Vec<serde_json::Value>>,
}

/// Reads a JSONL question set. Lines that cannot be used are returned with their line
/// numbers beside the usable cases; only an unreadable file is an error.
pub fn load_cases(path: &Path) -> Result<(Vec<Case>, Vec<LineError>)> {
    let text = std::fs::read_to_string(path).map_err(Error::io("reading question set", path))?;
    Ok(parse_cases(&text))
}

/// Parses JSONL text (see [`Case`]); blank lines are skipped.
pub fn parse_cases(text: &str) -> (Vec<Case>, Vec<LineError>) {
    let mut cases: Vec<Case> = Vec::new();
    let mut errors = Vec::new();
    let mut ids: HashMap<String, usize> = HashMap::new();
    let mut conversations: HashMap<String, ConversationSeen> = HashMap::new();
    for (index, raw_line) in text.lines().enumerate() {
        let line = index + 1;
        if raw_line.trim().is_empty() {
            continue;
        }
        let case = match parse_line(raw_line, line) {
            Ok(case) => case,
            Err(message) => {
                errors.push(LineError { line, message });
                continue;
            }
        };
        if let Some(&first) = ids.get(&case.id) {
            errors.push(LineError {
                line,
                message: format!("id '{}' is already used on line {first}; give every case its own id", case.id),
            });
            continue;
        }
        if let (Some(conversation), Some(turn)) = (&case.conversation, case.turn) {
            let entry = conversations.entry(conversation.clone()).or_insert_with(|| ConversationSeen {
                first_line: line,
                snapshot: case.snapshot.clone(),
                turns: HashMap::new(),
            });
            if entry.snapshot != case.snapshot {
                errors.push(LineError {
                    line,
                    message: format!(
                        "conversation '{conversation}' started on line {} with snapshot {}, this turn names {}; all \
                         turns of a conversation run in one session on one snapshot",
                        entry.first_line,
                        shown(&entry.snapshot),
                        shown(&case.snapshot)
                    ),
                });
                continue;
            }
            if let Some(&other) = entry.turns.get(&turn) {
                errors.push(LineError {
                    line,
                    message: format!(
                        "conversation '{conversation}' already has turn {turn} on line {other}; number turns 1, 2, 3..."
                    ),
                });
                continue;
            }
            entry.turns.insert(turn, line);
        }
        ids.insert(case.id.clone(), line);
        cases.push(case);
    }
    (cases, errors)
}

/// What earlier lines said about a conversation.
struct ConversationSeen {
    first_line: usize,
    snapshot: Option<String>,
    /// Turn number -> line.
    turns: HashMap<u32, usize>,
}

fn shown(snapshot: &Option<String>) -> String {
    snapshot.as_deref().map_or_else(|| "(default)".to_string(), |s| format!("'{s}'"))
}

fn parse_line(text: &str, line: usize) -> Result<Case, String> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("{e} (each line must be one complete JSON object)"))?;
    if !value.is_object() {
        return Err(format!("each line must be a JSON object with 'id', 'question' and a gold; found {value}"));
    }
    let raw: RawCase = serde_json::from_value(value).map_err(|e| e.to_string())?;
    let blank = |s: &str| s.trim().is_empty();
    if blank(&raw.id) {
        return Err("'id' is empty; give the case a unique id".into());
    }
    if blank(&raw.question) {
        return Err(format!("case '{}': 'question' is empty", raw.id));
    }
    if raw.gold_sql.is_none() && raw.gold_rows.is_none() {
        return Err(format!("case '{}' has no gold: give 'gold_sql' or 'gold_rows'", raw.id));
    }
    if raw.gold_sql.as_deref().is_some_and(blank) {
        return Err(format!("case '{}': 'gold_sql' is empty", raw.id));
    }
    if let Some(i) = raw.gold_sql_alternatives.iter().position(|s| blank(s)) {
        return Err(format!("case '{}': gold_sql_alternatives[{i}] is empty", raw.id));
    }
    let gold_rows = match &raw.gold_rows {
        Some(value) => Some(ResultTable::from_json(value).map_err(|e| format!("case '{}': gold_rows: {e}", raw.id))?),
        None => None,
    };
    if !raw.gold_ties.is_empty() && gold_rows.is_none() {
        return Err(format!("case '{}': 'gold_ties' describe 'gold_rows'; give the gold rows too", raw.id));
    }
    let gold_len = gold_rows.as_ref().map_or(0, ResultTable::len);
    let gold_ties = parse_ties(&raw.gold_ties, gold_len).map_err(|e| format!("case '{}': gold_ties{e}", raw.id))?;
    let mut gold_rows_alternatives = Vec::with_capacity(raw.gold_rows_alternatives.len());
    for (i, value) in raw.gold_rows_alternatives.iter().enumerate() {
        let what = |e: String| format!("case '{}': gold_rows_alternatives[{i}]: {e}", raw.id);
        let mut object = value.as_object().cloned().ok_or_else(|| what("expected an object".to_string()))?;
        let ties: Vec<RawTie> = match object.remove("ties") {
            Some(ties) => serde_json::from_value(ties).map_err(|e| what(format!("ties: {e}")))?,
            None => Vec::new(),
        };
        let table = ResultTable::from_json(&serde_json::Value::Object(object)).map_err(|e| what(e.to_string()))?;
        let ties = parse_ties(&ties, table.len()).map_err(|e| what(format!("ties{e}")))?;
        gold_rows_alternatives.push((table, ties));
    }
    let expect_clarification = match raw.expect.as_deref() {
        None => false,
        Some("clarify") => true,
        Some(other) => {
            return Err(format!(
                "case '{}': expect is '{other}'; the only expectation is \"clarify\" (asking back counts as right)",
                raw.id
            ));
        }
    };
    match (&raw.conversation, raw.turn) {
        (Some(c), _) if blank(c) => return Err(format!("case '{}': 'conversation' is empty", raw.id)),
        (Some(c), None) => {
            return Err(format!(
                "case '{}' is in conversation '{c}' but has no 'turn'; number its turns 1, 2, 3...",
                raw.id
            ));
        }
        (None, Some(_)) => {
            return Err(format!(
                "case '{}' has a 'turn' but no 'conversation'; name the conversation it belongs to",
                raw.id
            ));
        }
        (Some(_), Some(0)) => return Err(format!("case '{}': turns are numbered from 1", raw.id)),
        _ => {}
    }
    Ok(Case {
        id: raw.id,
        question: raw.question,
        gold_sql: raw.gold_sql,
        gold_rows,
        gold_sql_alternatives: raw.gold_sql_alternatives,
        tags: raw.tags,
        difficulty: raw.difficulty,
        snapshot: raw.snapshot,
        conversation: raw.conversation,
        turn: raw.turn,
        ordered: raw.ordered,
        gold_ties,
        gold_rows_alternatives,
        expect_clarification,
        line,
    })
}

/// Tie groups over a gold of `gold_len` rows; an error names the group (`[i]: ...`).
fn parse_ties(raw: &[RawTie], gold_len: usize) -> Result<Vec<TieGroup>, String> {
    let mut ties = Vec::with_capacity(raw.len());
    for (i, tie) in raw.iter().enumerate() {
        let rows = tie
            .rows
            .iter()
            .map(|row| row.iter().map(crate::Cell::from_json).collect::<Result<Vec<_>, _>>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("[{i}]: {e}"))?;
        if tie.len == 0 || tie.len > rows.len() || tie.start + tie.len > gold_len {
            return Err(format!(
                "[{i}] covers gold rows {}..{} with {} tied rows; it must cover 1 to {} of the gold's {gold_len} rows",
                tie.start,
                tie.start + tie.len,
                rows.len(),
                rows.len()
            ));
        }
        ties.push(TieGroup { start: tie.start, len: tie.len, rows });
    }
    Ok(ties)
}

#[cfg(test)]
mod tests {
    use super::*;
    use quarry_compare::Cell;

    #[test]
    fn cases_parse_with_every_field() {
        let text = r#"
{"id": "q1", "question": "How many users?", "gold_sql": "SELECT count(*) FROM users", "tags": ["metric"], "difficulty": "easy"}
{"id": "q2", "question": "Top 3", "gold_rows": {"columns": ["n"], "rows": [[3], [2]]}, "ordered": true, "snapshot": "snap-1"}
{"id": "c1", "question": "Revenue by month", "gold_sql": "SELECT 1", "gold_sql_alternatives": ["SELECT 1.0"], "conversation": "c", "turn": 1}
"#;
        let (cases, errors) = parse_cases(text);
        assert_eq!(errors, vec![]);
        assert_eq!(cases.len(), 3);
        assert_eq!(cases[0].line, 2);
        assert_eq!(cases[0].tags, ["metric"]);
        assert_eq!(cases[1].gold_rows.as_ref().unwrap().rows, vec![vec![Cell::Int(3)], vec![Cell::Int(2)]]);
        assert_eq!(cases[1].ordered, Some(true));
        assert_eq!(cases[2].gold_sql_alternatives, ["SELECT 1.0"]);
        assert_eq!((cases[2].conversation.as_deref(), cases[2].turn), (Some("c"), Some(1)));
    }

    #[test]
    fn malformed_lines_are_reported_with_their_numbers_and_the_rest_is_kept() {
        let text = [
            r#"{"id": "ok1", "question": "q", "gold_sql": "SELECT 1"}"#,
            r#"{"id": "broken", "question": "q", "gold_sql": "SELECT 1""#,
            r#"{"id": "nogold", "question": "q"}"#,
            r#"{"id": "typo", "question": "q", "gold_SQL": "SELECT 1"}"#,
            r#"{"id": "ok1", "question": "again", "gold_sql": "SELECT 1"}"#,
            r#"{"id": "rows", "question": "q", "gold_rows": {"columns": ["a"], "rows": [[1, 2]]}}"#,
            r#"{"id": "t1", "question": "q", "gold_sql": "SELECT 1", "conversation": "c", "turn": 1}"#,
            r#"{"id": "t1b", "question": "q", "gold_sql": "SELECT 1", "conversation": "c", "turn": 1}"#,
            r#"{"id": "t2", "question": "q", "gold_sql": "SELECT 1", "conversation": "c", "turn": 2, "snapshot": "other"}"#,
            r#"{"id": "noturn", "question": "q", "gold_sql": "SELECT 1", "conversation": "d"}"#,
            r#"{"id": "noconv", "question": "q", "gold_sql": "SELECT 1", "turn": 2}"#,
            r#"{"id": 7, "question": "q", "gold_sql": "SELECT 1"}"#,
            r#"{"id": " ", "question": "q", "gold_sql": "SELECT 1"}"#,
            r#"[1, 2]"#,
            r#"{"id": "ok2", "question": "q", "gold_sql": "SELECT 2"}"#,
        ]
        .join("\n");
        let (cases, errors) = parse_cases(&text);
        assert_eq!(cases.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["ok1", "t1", "ok2"]);
        let expected: &[(usize, &str)] = &[
            (2, "EOF while parsing"),
            (3, "has no gold"),
            (4, "unknown field `gold_SQL`"),
            (5, "already used on line 1"),
            (6, "gold_rows: rows[0] has 2 values but there are 1 columns"),
            (8, "already has turn 1 on line 7"),
            (9, "all turns of a conversation run in one session"),
            (10, "has no 'turn'"),
            (11, "no 'conversation'"),
            (12, "invalid type: integer `7`, expected a string"),
            (13, "'id' is empty"),
            (14, "must be a JSON object"),
        ];
        assert_eq!(errors.len(), expected.len(), "{errors:#?}");
        for (error, (line, text)) in errors.iter().zip(expected) {
            assert_eq!(error.line, *line, "{error}");
            assert!(error.message.contains(text), "{error} should say {text}");
        }
        assert!(errors[0].to_string().starts_with("line 2: "));
    }

    #[test]
    fn ties_and_alternative_rows_are_read_and_checked() {
        let text = [
            r#"{"id": "t", "question": "q", "gold_rows": {"columns": ["n"], "rows": [[1], [2]]}, "ordered": true, "gold_ties": [{"start": 1, "len": 1, "rows": [[2], [3]]}], "gold_rows_alternatives": [{"columns": ["n"], "rows": [[1], [3]], "ties": [{"start": 0, "len": 2, "rows": [[1], [3]]}]}]}"#,
            r#"{"id": "long", "question": "q", "gold_rows": {"columns": ["n"], "rows": [[1]]}, "gold_ties": [{"start": 0, "len": 2, "rows": [[1], [2]]}]}"#,
            r#"{"id": "nogold", "question": "q", "gold_sql": "SELECT 1", "gold_ties": [{"start": 0, "len": 1, "rows": [[1]]}]}"#,
            r#"{"id": "alt", "question": "q", "gold_rows": {"columns": ["n"], "rows": []}, "gold_rows_alternatives": [{"columns": ["n"]}]}"#,
        ]
        .join("\n");
        let (cases, errors) = parse_cases(&text);
        assert_eq!(cases.len(), 1, "{errors:#?}");
        assert_eq!(
            cases[0].gold_ties,
            [TieGroup { start: 1, len: 1, rows: vec![vec![Cell::Int(2)], vec![Cell::Int(3)]] }]
        );
        let (alternative, ties) = &cases[0].gold_rows_alternatives[0];
        assert_eq!(alternative.rows, vec![vec![Cell::Int(1)], vec![Cell::Int(3)]]);
        assert_eq!(ties[0].len, 2);
        let messages: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
        assert!(messages[0].contains("gold_ties[0] covers gold rows 0..2"), "{messages:?}");
        assert!(messages[1].contains("give the gold rows too"), "{messages:?}");
        assert!(messages[2].contains("gold_rows_alternatives[0]: 'rows' is missing"), "{messages:?}");
    }

    #[test]
    fn a_missing_file_is_an_error_naming_it() {
        let error = load_cases(Path::new("/nonexistent/set.jsonl")).unwrap_err().to_string();
        assert!(error.contains("/nonexistent/set.jsonl"), "{error}");
    }
}
