//! The question-answering pipeline, the same whatever door a question comes in by.
//!
//! A [`Pipeline`] holds one snapshot, its semantic layer, the [`SqlPolicy`], the
//! [`SnapshotExecutor`] and the synthesis stage's [`SynthesisRouter`] (the built-in planner,
//! and a model when one is configured), and answers:
//! - [`Pipeline::ask`]: question -> synthesis -> policy -> execute -> summary and chart ->
//!   [`Answer`] (with the SQL, the rows, how the question was read, and timings per stage),
//!   continuing a [`Conversation`]. Whichever synthesizer wrote the SQL, its candidate meets
//!   one tail that validates, executes, charts, summarizes and records it;
//! - [`Pipeline::ask_with_progress`]: the same, reporting each [`Stage`] as it starts;
//! - [`Pipeline::run_sql`]: SQL -> policy -> execute;
//! - [`Pipeline::answer_verified`]: a question matched to a verified question, answered with
//!   its SQL and marked with who verified it ([`VerifiedBadge`]).
//!
//! A repeated question (same snapshot, same normalized question, same conversation so far)
//! is answered from the [`AnswerCache`] in microseconds. With a model, an answer of the
//! planner is cross-checked against the model's ([`CrossCheck`]).
//!
//! The pipeline is built from typed parts, never from the application's settings: opening
//! one from `quarry.toml` (resolving the snapshot, generating the demo warehouse, starting
//! worker processes) is `quarry-bootstrap`'s, at the binaries' edge.
//!
//! ```no_run
//! # async fn example(snapshot: quarry_snapshot::Snapshot) -> Result<(), quarry_answer::Error> {
//! use quarry_answer::{CacheConfig, Conversation, Pipeline};
//! let layer = quarry_semantic::SemanticLayer::demo();
//! let pipeline = Pipeline::new(snapshot, layer, Default::default(), Default::default())
//!     .await?
//!     .with_cache(&CacheConfig::default());
//! let mut conversation = Conversation::default();
//! let answer = pipeline.ask("signups by channel last month", &mut conversation).await?;
//! println!("{}\n{}", answer.summary, answer.sql.unwrap_or_default());
//! # Ok(()) }
//! ```
//!
//! [`SqlPolicy`]: quarry_sqlguard::SqlPolicy
//! [`SnapshotExecutor`]: quarry_exec::SnapshotExecutor
//! [`SynthesisRouter`]: quarry_synth::SynthesisRouter

mod answer;
mod cache;
mod chart;
mod conversations;
mod cross_check;
mod error;
mod pipeline;
mod summary;
mod verified;

pub use answer::{Answer, AnswerStatus, Clarification, Conversation, RetrievedHit, SqlAnswer, Timings, Turn};
pub use cache::{AnswerCache, CacheConfig, CacheKey};
pub use chart::{AnswerChart, answer_chart, model_chart_spec, result_chart};
pub use conversations::{ConversationStore, MAX_CONVERSATION_ID_CHARS};
pub use cross_check::{CrossCheck, CrossCheckVerdict};
pub use error::{Error, ErrorKind, Result};
pub use pipeline::{
    AnswerConfig, MAX_QUESTION_CHARS, PIPELINE_STACK_BYTES, Pipeline, clean_question, pipeline_runtime,
};
/// The question normaliser of the answer cache's keys (and of the planner, retrieval and
/// verified questions).
pub use quarry_question::normalize_question;
/// Whether the retrieval index of the model route can be searched ([`Pipeline::retrieval_status`]).
pub use quarry_retrieve::IndexStatus;
pub use quarry_synth::{Attempt, ModelRoute, Progress, Route, Stage, StageEvent, SynthesisConfig};
pub use verified::{VerifiedBadge, VerifiedMatch};
