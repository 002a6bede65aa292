//! The question-answering pipeline, the same whatever door a question comes in by.
//!
//! A [`Pipeline`] holds one snapshot, its semantic layer, the [`SqlPolicy`], the
//! [`SnapshotExecutor`] and the built-in planner, and answers:
//! - [`Pipeline::ask`]: question -> plan -> policy -> execute -> [`Answer`] (with the SQL,
//!   the rows, how the question was read, and timings per stage), continuing a
//!   [`Conversation`], and a chart ([`AnswerChart`]) picked by `quarry-chart`;
//! - [`Pipeline::ask_with_progress`]: the same, reporting each [`Stage`] as it starts;
//! - [`Pipeline::run_sql`]: SQL -> policy -> execute;
//! - [`Pipeline::answer_verified`]: a question matched to a verified question, answered with
//!   its SQL and marked with who verified it ([`VerifiedBadge`]).
//!
//! A repeated question (same snapshot, same normalized question, same conversation so far)
//! is answered from the [`AnswerCache`] in microseconds.
//!
//! [`Pipeline::open`] resolves everything from [`Settings`]: on first use it generates the
//! demo warehouse into the data directory.
//!
//! ```no_run
//! # async fn example() -> Result<(), quarry_answer::Error> {
//! let settings = quarry_settings::Settings::defaults();
//! let pipeline = quarry_answer::Pipeline::open(&settings).await?;
//! let mut conversation = quarry_answer::Conversation::default();
//! let answer = pipeline.ask("signups by channel last month", &mut conversation).await?;
//! println!("{}\n{}", answer.summary, answer.sql.unwrap_or_default());
//! # Ok(()) }
//! ```
//!
//! [`SqlPolicy`]: quarry_sqlguard::SqlPolicy
//! [`SnapshotExecutor`]: quarry_exec::SnapshotExecutor
//! [`Settings`]: quarry_settings::Settings

mod answer;
mod bootstrap;
mod cache;
mod chart;
mod conversations;
mod cross_check;
mod error;
mod grounding;
mod model_route;
mod pipeline;
mod stage;
mod summary;
mod verified;

pub use answer::{Answer, AnswerStatus, Clarification, Conversation, RetrievedHit, SqlAnswer, Timings, Turn};
pub use bootstrap::{describe_source, is_demo, own_snapshots, resolve_layer, resolve_snapshot};
pub use cache::{AnswerCache, CacheKey, normalize_question};
pub use chart::{AnswerChart, answer_chart, model_chart_spec, result_chart};
pub use conversations::{ConversationStore, MAX_CONVERSATION_ID_CHARS};
pub use cross_check::{CrossCheck, CrossCheckVerdict};
pub use error::{Error, ErrorKind, Result};
pub use model_route::{Attempt, ModelRoute};
pub use pipeline::{MAX_QUESTION_CHARS, PIPELINE_STACK_BYTES, Pipeline, clean_question, pipeline_runtime};
/// Whether the retrieval index of the model route can be searched ([`Pipeline::retrieval_status`]).
pub use quarry_retrieve::IndexStatus;
pub use stage::{Progress, Stage, StageEvent};
pub use verified::{VerifiedBadge, VerifiedMatch};
