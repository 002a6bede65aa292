//! The answer cache: a repeated question on the same snapshot, in the same conversation
//! state, is answered from memory instead of being planned, run and charted again.
//!
//! Snapshots are immutable and the built-in planner is deterministic, so a cached answer
//! never goes stale while its snapshot id is part of the key; nothing expires by time.

use std::sync::Arc;

use quarry_question::normalize_question;
use quick_cache::Weighter;
use quick_cache::sync::Cache;

use quarry_chart::{ChartHints, CheckedSpec, Column, MeasureHint, Values};
use quarry_exec::QueryResult;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::answer::{Answer, Conversation};
use crate::chart::AnswerChart;

/// What identifies an answer: a hash of the snapshot id, the question as
/// [`normalize_question`] reduces it (the planner's own rule, so that questions it reads
/// alike share an answer) and the conversation so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CacheKey([u8; 32]);

impl CacheKey {
    /// The key of `question` asked on `snapshot_id` after the turns of `conversation`.
    pub fn new(snapshot_id: &str, question: &str, conversation: &Conversation) -> Self {
        let mut hasher = blake3::Hasher::new();
        // Version 2: questions normalized by `quarry-question` (the planner's own rule).
        hasher.update(b"quarry-answer-cache/2\0");
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

/// The answer cache's settings (`[cache]` in quarry's settings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheConfig {
    /// Whether answers are cached at all.
    pub enabled: bool,
    /// The most memory the kept answers may take, in bytes (estimated).
    pub max_bytes: u64,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self { enabled: true, max_bytes: 64 << 20 }
    }
}

/// Answers kept in memory, bounded by their estimated size (see [`CacheConfig`]).
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

/// What the allocator spends on each heap block beyond the bytes asked for (its header and
/// rounding): counted so that many small blocks are not taken for free.
const BLOCK_OVERHEAD: usize = 16;

/// An answer's memory: the struct, the heap of everything it owns (JSON rows, the chart's
/// spec, spec data and columns, the Arrow result, the text around them) and the allocator's
/// overhead per block. Meant to be a little above the truth, never far below it: the
/// `cache_memory` test holds it against an instrumented allocator over the demo questions.
fn estimated_bytes(answer: &Answer) -> u64 {
    let rows = vec_bytes::<Vec<Value>>(answer.rows.capacity())
        + answer
            .rows
            .iter()
            .map(|row| vec_bytes::<Value>(row.capacity()) + row.iter().map(json_heap_bytes).sum::<usize>())
            .sum::<usize>();
    let chart = answer.chart.as_ref().map_or(0, chart_heap_bytes);
    let arrow = answer.result.as_ref().map_or(0, arrow_bytes);
    // The rest is short text and small records; their JSON length, doubled, covers the
    // strings and the vectors and options that hold them.
    let text = json_length(&answer.question)
        + json_length(&answer.summary)
        + json_length(&answer.sql)
        + json_length(&answer.columns)
        + json_length(&answer.snapshot_id)
        + json_length(&answer.route)
        + json_length(&answer.attempt_log)
        + json_length(&answer.retrieval_hits)
        + json_length(&answer.tokens)
        + json_length(&answer.model_explanation)
        + json_length(&answer.notes)
        + json_length(&answer.sql_notes)
        + json_length(&answer.explanation)
        + json_length(&answer.clarification)
        + json_length(&answer.message)
        + json_length(&answer.timings_ms)
        + json_length(&answer.query);
    (ENTRY_BYTES + std::mem::size_of::<Answer>() + rows + chart + arrow + 2 * text) as u64
}

/// The cache's own cost per entry (key, slot, `Arc` header), measured at about 300 bytes.
const ENTRY_BYTES: usize = 512;

fn vec_bytes<T>(capacity: usize) -> usize {
    if capacity == 0 { 0 } else { capacity * std::mem::size_of::<T>() + BLOCK_OVERHEAD }
}

fn string_bytes(text: &str) -> usize {
    if text.is_empty() { 0 } else { text.len() + BLOCK_OVERHEAD }
}

/// The heap a JSON value owns. Objects are `IndexMap`s (serde_json's `preserve_order`): an
/// entry vector of hash, key and value, and an index table of at least two slots per entry.
fn json_heap_bytes(value: &Value) -> usize {
    match value {
        Value::Null | Value::Bool(_) | Value::Number(_) => 0,
        Value::String(text) => string_bytes(text),
        Value::Array(items) => vec_bytes::<Value>(items.capacity()) + items.iter().map(json_heap_bytes).sum::<usize>(),
        Value::Object(map) if map.is_empty() => 0,
        Value::Object(map) => {
            let entry = std::mem::size_of::<u64>() + std::mem::size_of::<String>() + std::mem::size_of::<Value>();
            let index = 2 * (std::mem::size_of::<usize>() + 1);
            2 * BLOCK_OVERHEAD
                + map.len() * (entry + index)
                + map.iter().map(|(key, value)| string_bytes(key) + json_heap_bytes(value)).sum::<usize>()
        }
    }
}

fn chart_heap_bytes(chart: &AnswerChart) -> usize {
    let spec = chart.spec.as_ref().map_or(0, json_heap_bytes);
    let checked = chart.checked.as_ref().map_or(0, |checked| {
        std::mem::size_of::<CheckedSpec>()
            + BLOCK_OVERHEAD
            + json_heap_bytes(checked.spec())
            + checked.notes().iter().map(|n| string_bytes(n)).sum::<usize>()
            + hints_heap_bytes(checked.hints())
    });
    let data = chart.data.as_ref().map_or(0, |data| {
        vec_bytes::<Column>(data.columns().len())
            + data
                .columns()
                .iter()
                .map(|column| {
                    string_bytes(&column.name)
                        + match &column.values {
                            Values::Number(v) => vec_bytes::<Option<f64>>(v.len()),
                            Values::Time(v) => vec_bytes::<Option<i64>>(v.len()),
                            Values::Text(v) => {
                                vec_bytes::<Option<String>>(v.len())
                                    + v.iter().flatten().map(|t| string_bytes(t)).sum::<usize>()
                            }
                        }
                })
                .sum::<usize>()
    });
    spec + checked + data + 2 * (json_length(&chart.reason) + json_length(&chart.fallback))
}

/// The chart hints a checked spec keeps (to be checked again when drawn later).
fn hints_heap_bytes(hints: &ChartHints) -> usize {
    let optional = |text: &Option<String>| text.as_deref().map_or(0, string_bytes);
    hints.time.as_ref().map_or(0, |(column, _)| string_bytes(column))
        + vec_bytes::<MeasureHint>(hints.measures.len())
        + hints.measures.iter().map(|m| string_bytes(&m.column) + optional(&m.label)).sum::<usize>()
        + vec_bytes::<String>(hints.dimensions.len())
        + hints.dimensions.iter().map(|d| string_bytes(d)).sum::<usize>()
        + optional(&hints.title)
}

/// The Arrow result: its buffers as Arrow counts them, each column's `Arc`, each batch's
/// column vector, and the schema.
fn arrow_bytes(result: &QueryResult) -> usize {
    let handle = 2 * std::mem::size_of::<usize>() + BLOCK_OVERHEAD;
    let batches: usize = result
        .batches
        .iter()
        .map(|b| {
            b.get_array_memory_size() + b.num_columns() * handle + std::mem::size_of_val(b.columns()) + BLOCK_OVERHEAD
        })
        .sum();
    let schema: usize = result
        .schema
        .fields()
        .iter()
        .map(|f| std::mem::size_of_val(f.as_ref()) + handle + string_bytes(f.name()))
        .sum();
    batches + schema + std::mem::size_of_val(result.batches.as_slice()) + BLOCK_OVERHEAD
}

/// The length of `value` as JSON, counted without building the text.
fn json_length<T: serde::Serialize + ?Sized>(value: &T) -> usize {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    // Writing to a counter cannot fail, and the answer's parts always serialize.
    let _ = serde_json::to_writer(&mut counter, value);
    counter.0
}

/// An average answer's estimated size, to size the cache's table.
const TYPICAL_ANSWER_BYTES: u64 = 16 << 10;

impl AnswerCache {
    /// An empty cache with the limits of `settings`.
    pub fn new(settings: &CacheConfig) -> Self {
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
    fn questions_the_planner_reads_alike_share_a_key() {
        let empty = Conversation::default();
        let key = |question: &str| CacheKey::new("snap-1", question, &empty);
        assert_eq!(key("Sign-ups by channel?"), key("sign ups by  channel"));
        assert_eq!(key("revenue over 1,000"), key("Revenue over 1000."));
        assert_ne!(key("revenue in 2024"), key("revenue in 2025"));
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
        let cache = AnswerCache::new(&CacheConfig { enabled: true, max_bytes: 1000 });
        let key = CacheKey::new("snap-1", "q", &Conversation::default());
        cache.insert(key, Arc::new(answer_with_rows(10)));
        assert!(cache.get(&key).is_none());
        let cache = AnswerCache::new(&CacheConfig::default());
        cache.insert(key, Arc::new(answer_with_rows(10)));
        assert_eq!(cache.get(&key).map(|a| a.rows.len()), Some(10));
        assert!(cache.bytes() >= (std::mem::size_of::<Answer>() + 10 * 2 * std::mem::size_of::<Value>()) as u64);
    }

    #[test]
    fn the_estimate_grows_with_the_rows_and_their_text() {
        let small = estimated_bytes(&answer_with_rows(10));
        let large = estimated_bytes(&answer_with_rows(1000));
        assert!(large > small + 990 * 2 * std::mem::size_of::<Value>() as u64, "{small} → {large}");
        let mut long_text = answer_with_rows(10);
        long_text.sql = Some("x".repeat(10_000));
        assert!(estimated_bytes(&long_text) > small + 10_000);
    }

    #[test]
    fn json_objects_cost_their_entries_keys_and_values() {
        let object = serde_json::json!({ "channel": "organic", "signups": 12 });
        let bytes = json_heap_bytes(&object);
        assert!(bytes >= 2 * (8 + 24 + 32) + "channel".len() + "signups".len() + "organic".len(), "{bytes}");
        assert_eq!(json_heap_bytes(&serde_json::json!(12)), 0);
        assert_eq!(json_heap_bytes(&serde_json::json!("abc")), 3 + BLOCK_OVERHEAD);
    }
}
