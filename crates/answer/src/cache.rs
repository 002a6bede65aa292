//! The answer cache: a repeated question on the same snapshot, in the same conversation
//! state, is answered from memory instead of being planned, run and charted again.
//!
//! Snapshots are immutable and the built-in planner is deterministic, so a cached answer
//! never goes stale while its snapshot id is part of the key; nothing expires by time.

use std::sync::Arc;

use quarry_settings::CacheSettings;
use quick_cache::Weighter;
use quick_cache::sync::Cache;

use crate::answer::{Answer, Conversation};

/// What identifies an answer: a hash of the snapshot id, the normalized question and the
/// conversation so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CacheKey([u8; 32]);

impl CacheKey {
    /// The key of `question` asked on `snapshot_id` after the turns of `conversation`.
    pub fn new(snapshot_id: &str, question: &str, conversation: &Conversation) -> Self {
        let mut hasher = blake3::Hasher::new();
        hasher.update(b"quarry-answer-cache/1\0");
        hasher.update(snapshot_id.as_bytes());
        hasher.update(b"\0");
        hasher.update(normalize_question(question).as_bytes());
        hasher.update(b"\0");
        // The turns are what the planner (their last query) and the model (their questions,
        // SQL and summaries) read; serializing them covers both.
        let state = serde_json::to_vec(&conversation.turns).unwrap_or_default();
        hasher.update(&state);
        Self(*hasher.finalize().as_bytes())
    }
}

/// The question as the cache compares it: lower case, single spaces, without the closing
/// punctuation, so "Revenue in 2024?" and "revenue in  2024" are one question.
pub fn normalize_question(question: &str) -> String {
    let words: Vec<String> = question.split_whitespace().map(str::to_lowercase).collect();
    words.join(" ").trim_end_matches(['?', '.', '!', ' ']).to_string()
}

/// Answers kept in memory, bounded by their estimated size (see [`CacheSettings`]).
pub struct AnswerCache {
    answers: Cache<CacheKey, Arc<Answer>, AnswerWeighter>,
}

impl std::fmt::Debug for AnswerCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnswerCache")
            .field("answers", &self.answers.len())
            .field("bytes", &self.answers.weight())
            .finish()
    }
}

/// The estimated memory of an answer, in bytes.
#[derive(Debug, Clone, Copy)]
struct AnswerWeighter;

impl Weighter<CacheKey, Arc<Answer>> for AnswerWeighter {
    fn weight(&self, _key: &CacheKey, answer: &Arc<Answer>) -> u64 {
        estimated_bytes(answer)
    }
}

/// A rough size: the JSON rows (and the chart's copy of them) at about 64 bytes a cell, the
/// Arrow result as Arrow counts it, and a constant for the text around them.
fn estimated_bytes(answer: &Answer) -> u64 {
    let cells: usize = answer.rows.iter().map(Vec::len).sum();
    let chart_copies = if answer.chart.is_some() { 2 } else { 1 };
    let arrow: usize =
        answer.result.as_ref().map(|r| r.batches.iter().map(|b| b.get_array_memory_size()).sum()).unwrap_or(0);
    (4096 + cells * 64 * chart_copies + arrow) as u64
}

/// An average answer's estimated size, to size the cache's table.
const TYPICAL_ANSWER_BYTES: u64 = 16 << 10;

impl AnswerCache {
    /// An empty cache with the limits of `settings`.
    pub fn new(settings: &CacheSettings) -> Self {
        let items = usize::try_from((settings.max_bytes / TYPICAL_ANSWER_BYTES).max(16)).unwrap_or(usize::MAX);
        Self { answers: Cache::with_weighter(items, settings.max_bytes.max(1), AnswerWeighter) }
    }

    /// The answer kept under `key`, if any.
    pub fn get(&self, key: &CacheKey) -> Option<Arc<Answer>> {
        self.answers.get(key)
    }

    /// Keeps `answer` under `key` (an answer larger than the whole cache is not kept).
    pub fn insert(&self, key: CacheKey, answer: Arc<Answer>) {
        self.answers.insert(key, answer);
    }

    /// How many answers are kept.
    pub fn len(&self) -> usize {
        self.answers.len()
    }

    /// Whether no answer is kept.
    pub fn is_empty(&self) -> bool {
        self.answers.is_empty()
    }

    /// The estimated bytes kept.
    pub fn bytes(&self) -> u64 {
        self.answers.weight()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::Turn;

    fn answer_with_rows(rows: usize) -> Answer {
        let mut answer = Answer::empty("signups by channel".into(), "snap-1".into());
        answer.rows = (0..rows).map(|i| vec![serde_json::json!("organic"), serde_json::json!(i)]).collect();
        answer
    }

    #[test]
    fn normalization_ignores_case_spacing_and_closing_punctuation() {
        assert_eq!(normalize_question("  Revenue   in 2024? "), "revenue in 2024");
        assert_eq!(normalize_question("revenue in 2024!"), "revenue in 2024");
        assert_eq!(normalize_question("Revenue in 2024"), normalize_question("revenue in 2024."));
        assert_ne!(normalize_question("revenue in 2024"), normalize_question("revenue in 2025"));
    }

    #[test]
    fn the_key_depends_on_snapshot_question_and_conversation() {
        let empty = Conversation::default();
        let base = CacheKey::new("snap-1", "revenue by plan", &empty);
        assert_eq!(base, CacheKey::new("snap-1", "Revenue by plan?", &empty));
        assert_ne!(base, CacheKey::new("snap-2", "revenue by plan", &empty));
        assert_ne!(base, CacheKey::new("snap-1", "revenue by country", &empty));
        let follow_up = Conversation {
            turns: vec![Turn {
                question: "signups last month".into(),
                query: None,
                sql: Some("SELECT 1".into()),
                summary: "1".into(),
            }],
        };
        assert_ne!(base, CacheKey::new("snap-1", "revenue by plan", &follow_up));
    }

    #[test]
    fn answers_larger_than_the_cache_are_not_kept() {
        let cache = AnswerCache::new(&CacheSettings { enabled: true, max_bytes: 1000 });
        let key = CacheKey::new("snap-1", "q", &Conversation::default());
        cache.insert(key, Arc::new(answer_with_rows(10)));
        assert!(cache.get(&key).is_none());
        let cache = AnswerCache::new(&CacheSettings::default());
        cache.insert(key, Arc::new(answer_with_rows(10)));
        assert_eq!(cache.get(&key).map(|a| a.rows.len()), Some(10));
        assert!(cache.bytes() >= 4096 + 10 * 2 * 64);
    }
}
