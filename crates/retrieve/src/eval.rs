//! Retrieval quality on a labeled question set: recall@1, recall@5 and MRR per kind.
//!
//! A labeled set is JSON lines, one question each:
//! `{"id": "...", "question": "...", "expected": ["metric:signups", "value:users.country=DE"]}`.
//! Every expected id is searched for within its own kind (top 5); a label counts at rank r
//! when the r-th hit is that document.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use quarry_semantic::SemanticLayer;
use serde::{Deserialize, Serialize};

use crate::{Error, Hit, Index, Kind, Result};

/// How many hits each search returns.
pub const EVAL_DEPTH: usize = 5;

/// One labeled question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabeledQuestion {
    /// A stable id, for reports.
    #[serde(default)]
    pub id: String,
    /// The question as a user asks it.
    pub question: String,
    /// Ids of the documents a correct answer needs, e.g. `metric:signups`.
    pub expected: Vec<String>,
    /// Free-form tags (`synonym`, `misspelling`…).
    #[serde(default)]
    pub tags: Vec<String>,
}

/// Reads a labeled set; errors name the file and line.
pub fn load_labeled(path: &Path) -> Result<Vec<LabeledQuestion>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::config(format!("cannot read {}: {e}; pass a JSON-lines file of labeled questions", path.display()))
    })?;
    let mut cases = Vec::new();
    for (number, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let mut case: LabeledQuestion = serde_json::from_str(line).map_err(|e| {
            Error::config(format!(
                "{}:{}: {e}; each line is {{\"question\": ..., \"expected\": [\"metric:...\", ...]}}",
                path.display(),
                number + 1
            ))
        })?;
        for id in &case.expected {
            label_kind(id).map_err(|e| Error::config(format!("{}:{}: {e}", path.display(), number + 1)))?;
        }
        if case.id.is_empty() {
            case.id = format!("line-{}", number + 1);
        }
        cases.push(case);
    }
    if cases.is_empty() {
        return Err(Error::config(format!("{} holds no labeled questions", path.display())));
    }
    Ok(cases)
}

/// The kind a label names by its prefix (`verified:` is a verified question).
pub fn label_kind(id: &str) -> Result<Kind> {
    let Some((prefix, rest)) = id.split_once(':') else {
        return Err(Error::config(format!("label '{id}' has no kind; write it as <kind>:<name>, e.g. metric:revenue")));
    };
    if rest.is_empty() {
        return Err(Error::config(format!("label '{id}' names no document after '{prefix}:'")));
    }
    match prefix {
        "verified" => Ok(Kind::VerifiedQuestion),
        other => other.parse(),
    }
}

/// Whether `hit` is the document `expected` names. Labels may name a value by its column,
/// `value:<table>.<column>=<v>`, while the index names values read through a dimension
/// `value:<dimension>=<v>`: both name the same value when the dimension reads that column.
pub fn hit_matches(expected: &str, hit: &Hit, layer: &SemanticLayer) -> bool {
    if hit.id == expected {
        return true;
    }
    let (Some(label), Kind::Value) = (expected.strip_prefix("value:"), hit.kind) else { return false };
    let Some((column, value)) = label.split_once('=') else { return false };
    let text = |key: &str| hit.payload.get(key).and_then(|v| v.as_str()).unwrap_or_default().to_string();
    if text("value") != value {
        return false;
    }
    if format!("{}.{}", text("table"), text("column")) == column {
        return true;
    }
    layer.dimension(&text("dimension")).is_some_and(|d| d.columns().iter().any(|(t, c)| format!("{t}.{c}") == column))
}

/// Scores of one kind (or of all).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KindScore {
    /// Labels searched.
    pub labels: usize,
    /// Labels found first.
    pub at_1: usize,
    /// Labels found in the top 5.
    pub at_5: usize,
    /// Sum of 1 / rank over the labels found.
    pub reciprocal_ranks: f64,
}

impl KindScore {
    fn add(&mut self, rank: Option<usize>) {
        self.labels += 1;
        self.at_1 += usize::from(rank == Some(0));
        self.at_5 += usize::from(rank.is_some());
        self.reciprocal_ranks += rank.map_or(0.0, |r| 1.0 / (r as f64 + 1.0));
    }

    fn ratio(&self, count: f64) -> f64 {
        if self.labels == 0 { 0.0 } else { count / self.labels as f64 }
    }

    /// Share of labels found first.
    pub fn recall_at_1(&self) -> f64 {
        self.ratio(self.at_1 as f64)
    }

    /// Share of labels found in the top 5.
    pub fn recall_at_5(&self) -> f64 {
        self.ratio(self.at_5 as f64)
    }

    /// Mean reciprocal rank (0 for labels not in the top 5).
    pub fn mrr(&self) -> f64 {
        self.ratio(self.reciprocal_ranks)
    }
}

/// A label not found in the top 5.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Miss {
    /// The question's id.
    pub question_id: String,
    /// The question.
    pub question: String,
    /// The label that was not found.
    pub expected: String,
    /// What came back instead, best first.
    pub got: Vec<String>,
}

/// The outcome of [`evaluate`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetrievalReport {
    /// The embedder's id.
    pub embedder: String,
    /// Questions evaluated.
    pub questions: usize,
    /// Scores per kind name.
    pub kinds: BTreeMap<String, KindScore>,
    /// Scores over all labels.
    pub overall: KindScore,
    /// Labels not found, in question order.
    pub misses: Vec<Miss>,
    /// Mean time of one search, in milliseconds.
    pub mean_search_ms: f64,
}

/// Searches every label of every question within its kind and scores the ranks.
pub async fn evaluate(index: &Index, layer: &SemanticLayer, cases: &[LabeledQuestion]) -> Result<RetrievalReport> {
    let mut kinds: BTreeMap<String, KindScore> = BTreeMap::new();
    let mut overall = KindScore::default();
    let mut misses = Vec::new();
    let mut searching = Duration::ZERO;
    let mut searches = 0u32;
    for case in cases {
        // One search per kind the question's labels need, shared by its labels.
        let mut by_kind: BTreeMap<Kind, Vec<Hit>> = BTreeMap::new();
        for expected in &case.expected {
            let kind = label_kind(expected)?;
            let hits = match by_kind.entry(kind) {
                std::collections::btree_map::Entry::Occupied(entry) => entry.into_mut(),
                std::collections::btree_map::Entry::Vacant(entry) => {
                    let started = Instant::now();
                    let hits = index.search(&case.question, &[kind], EVAL_DEPTH).await?;
                    searching += started.elapsed();
                    searches += 1;
                    entry.insert(hits)
                }
            };
            let rank = hits.iter().position(|hit| hit_matches(expected, hit, layer));
            kinds.entry(kind.as_str().to_string()).or_default().add(rank);
            overall.add(rank);
            if rank.is_none() {
                misses.push(Miss {
                    question_id: case.id.clone(),
                    question: case.question.clone(),
                    expected: expected.clone(),
                    got: hits.iter().map(|h| h.id.clone()).collect(),
                });
            }
        }
    }
    let mean_search_ms = if searches == 0 { 0.0 } else { searching.as_secs_f64() * 1e3 / f64::from(searches) };
    Ok(RetrievalReport {
        embedder: index.embedder_id(),
        questions: cases.len(),
        kinds,
        overall,
        misses,
        mean_search_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_name_their_kind() {
        assert_eq!(label_kind("metric:revenue").unwrap(), Kind::Metric);
        assert_eq!(label_kind("verified:3").unwrap(), Kind::VerifiedQuestion);
        assert_eq!(label_kind("value:users.country=DE").unwrap(), Kind::Value);
        assert!(label_kind("revenue").unwrap_err().to_string().contains("<kind>:<name>"));
        assert!(label_kind("metric:").is_err());
        assert!(label_kind("measure:revenue").unwrap_err().to_string().contains("unknown kind"));
    }

    #[test]
    fn scores_count_ranks() {
        let mut score = KindScore::default();
        score.add(Some(0));
        score.add(Some(1));
        score.add(None);
        score.add(Some(4));
        assert_eq!((score.labels, score.at_1, score.at_5), (4, 1, 3));
        assert!((score.recall_at_5() - 0.75).abs() < 1e-9);
        assert!((score.mrr() - (1.0 + 0.5 + 0.2) / 4.0).abs() < 1e-9);
        assert_eq!(KindScore::default().recall_at_1(), 0.0);
    }

    #[test]
    fn a_value_label_matches_the_value_read_through_a_dimension() {
        let layer = SemanticLayer::demo();
        let payload =
            |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), serde_json::Value::from(*v))).collect();
        let hit = Hit {
            id: "value:country=DE".into(),
            kind: Kind::Value,
            score: 1.0,
            payload: payload(&[("dimension", "country"), ("value", "DE")]),
        };
        assert!(hit_matches("value:users.country=DE", &hit, &layer));
        assert!(!hit_matches("value:users.country=FR", &hit, &layer));
        assert!(!hit_matches("value:accounts.plan=DE", &hit, &layer));
        let metric = Hit { id: "metric:revenue".into(), kind: Kind::Metric, score: 1.0, payload: Default::default() };
        assert!(hit_matches("metric:revenue", &metric, &layer));
        assert!(!hit_matches("metric:signups", &metric, &layer));
    }
}
