//! What the simulated users ask: first questions from a labeled question file, follow-ups
//! the built-in planner understands in any conversation, and fresh questions made from
//! templates so that no two requests of a throughput run ask the same thing.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::{Error, Result};

/// The demo question set, where it sits in the source tree (the default `--questions`).
pub const DEMO_QUESTIONS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../eval/questions/demo.jsonl");

/// Follow-ups that make sense after any first question: the planner keeps the conversation's
/// metric and time range and adds a breakdown, a filter, a chart type or another period.
pub const FOLLOW_UPS: &[&str] = &[
    "break that down by country",
    "only in Germany",
    "as a line chart",
    "what about last quarter",
    "same for last year",
    "as a bar chart",
];

/// The repeated question of a throughput run unless another is given.
pub const REPEATED_QUESTION: &str = "signups by channel last month";

/// The fields of a labeled question this tool reads; the rest of the line is ignored, so the
/// load tool does not need the evaluation crate (and the engine it links).
#[derive(Deserialize)]
struct QuestionLine {
    question: String,
    #[serde(default)]
    turn: Option<u32>,
}

/// The first questions of `path`, a JSON Lines file of `{"question": …}` objects (the format
/// of `eval/questions/*.jsonl`): lines that are the second or later turn of a conversation
/// are skipped, since they only make sense after their first turn.
pub fn first_questions(path: &Path) -> Result<Vec<String>> {
    let text =
        std::fs::read_to_string(path).map_err(|source| Error::ReadQuestions { path: path.to_path_buf(), source })?;
    let mut questions = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let parsed: QuestionLine = serde_json::from_str(line).map_err(|e| Error::BadQuestionLine {
            path: path.to_path_buf(),
            line: n + 1,
            message: e.to_string(),
        })?;
        if parsed.turn.unwrap_or(1) <= 1 && !questions.contains(&parsed.question) {
            questions.push(parsed.question);
        }
    }
    if questions.is_empty() {
        return Err(Error::NoQuestions(path.to_path_buf()));
    }
    Ok(questions)
}

/// The question file to use: `given`, else the demo set of the source tree.
pub fn questions_path(given: Option<&Path>) -> PathBuf {
    given.map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from(DEMO_QUESTIONS))
}

/// Metrics with dimensions of the demo layer that can break them down.
const BREAKDOWNS: &[(&str, &[&str])] = &[
    ("signups", &["channel", "country", "company size", "platform"]),
    ("revenue", &["country", "plan", "region", "industry"]),
    ("new accounts", &["industry", "country", "region"]),
    ("support tickets", &["priority", "country"]),
    ("cancellations", &["reason", "plan"]),
    ("refunds", &["plan", "country"]),
    ("active users", &["platform", "country"]),
    ("new subscriptions", &["plan", "billing period"]),
    ("events", &["event type", "platform"]),
    ("average csat", &["priority"]),
    ("average resolution time", &["priority"]),
];

/// Rankings: (plural dimension, metric).
const RANKINGS: &[(&str, &str)] = &[
    ("countries", "revenue"),
    ("countries", "signups"),
    ("industries", "new accounts"),
    ("plans", "revenue"),
    ("regions", "revenue"),
    ("countries", "support tickets"),
];

const MONTHS: &[&str] = &[
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// Days of a "last N days" period: 2 to 731.
const DAY_SPANS: std::ops::RangeInclusive<u32> = 2..=731;

/// Distinct, valid questions for the demo layer, made from templates with varying parts
/// ("revenue by plan in the last 37 days", "top 4 countries by signups in the last 90 days",
/// "support tickets by priority in March 2024"), in an order where neighbours differ in
/// metric and shape. No question repeats, so a result cache keyed by the question never hits.
/// About 54,000 exist; `count` beyond that gives them all.
pub fn fresh_questions(count: usize) -> Vec<String> {
    // Each metric's first dimension, then each one's second, …: neighbours differ in metric.
    let widest = BREAKDOWNS.iter().map(|(_, dims)| dims.len()).max().unwrap_or(0);
    let pairs: Vec<(&str, &str)> = (0..widest)
        .flat_map(|i| BREAKDOWNS.iter().filter_map(move |(metric, dims)| dims.get(i).map(|dim| (*metric, *dim))))
        .collect();
    // Each family is ordered with the metric varying fastest; the three are interleaved.
    let mut by_days = Vec::new();
    let mut ranked = Vec::new();
    for days in DAY_SPANS {
        by_days.extend(pairs.iter().map(|(m, d)| format!("{m} by {d} in the last {days} days")));
        for k in 2..=9u32 {
            ranked.extend(RANKINGS.iter().map(|(d, m)| format!("top {k} {d} by {m} in the last {days} days")));
        }
    }
    let mut by_month = Vec::new();
    for year in 2023..=2025u32 {
        for month in MONTHS {
            by_month.extend(pairs.iter().map(|(m, d)| format!("{m} by {d} in {month} {year}")));
        }
    }
    let mut families = [by_days.into_iter(), ranked.into_iter(), by_month.into_iter()];
    let mut out = Vec::with_capacity(count.min(60_000));
    while out.len() < count {
        let before = out.len();
        for family in &mut families {
            if out.len() < count
                && let Some(question) = family.next()
            {
                out.push(question);
            }
        }
        if out.len() == before {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn fresh_questions_never_repeat_and_vary_between_neighbours() {
        let all = fresh_questions(usize::MAX);
        assert!(all.len() > 50_000, "{}", all.len());
        let distinct: HashSet<&str> = all.iter().map(String::as_str).collect();
        assert_eq!(distinct.len(), all.len(), "no question repeats");
        assert_eq!(fresh_questions(5), all[..5].to_vec(), "the order is fixed");
        assert_ne!(all[0].split(" by ").next(), all[3].split(" by ").next(), "{:?}", &all[..4]);
        assert!(all[1].starts_with("top 2 "), "{:?}", &all[..3]);
    }

    #[test]
    fn first_questions_skip_later_turns_and_report_bad_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.jsonl");
        std::fs::write(
            &path,
            concat!(
                "{\"question\": \"revenue last month\", \"id\": \"a\"}\n",
                "{\"question\": \"signups this year\", \"conversation\": \"c1\", \"turn\": 1}\n",
                "{\"question\": \"and by region?\", \"conversation\": \"c1\", \"turn\": 2}\n",
                "\n"
            ),
        )
        .unwrap();
        assert_eq!(first_questions(&path).unwrap(), vec!["revenue last month", "signups this year"]);
        std::fs::write(&path, "{\"question\": \"ok\"}\n{\"q\": 1}\n").unwrap();
        let error = first_questions(&path).unwrap_err().to_string();
        assert!(error.contains("q.jsonl:2"), "{error}");
        std::fs::write(&path, "").unwrap();
        assert!(first_questions(&path).unwrap_err().to_string().contains("no first questions"));
        assert!(first_questions(&dir.path().join("missing.jsonl")).is_err());
    }

    #[test]
    fn the_demo_set_gives_a_varied_pool() {
        let pool = first_questions(&questions_path(None)).unwrap();
        assert!(pool.len() > 150, "{}", pool.len());
    }
}
