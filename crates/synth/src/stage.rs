//! The steps of answering, reported as each starts, so that a client can show progress
//! ("finding metrics… writing SQL… checking… running… charting…") while it waits.

use serde::{Deserialize, Serialize};

/// A step of answering a question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Searching the index for metrics, dimensions, values and verified questions.
    Retrieve,
    /// The built-in planner reading the question.
    Plan,
    /// The model writing SQL.
    Synthesize,
    /// The SQL policy checking the SQL.
    Validate,
    /// The executor running it.
    Execute,
    /// Choosing and checking the chart.
    Chart,
    /// Writing the summary.
    Summarize,
}

impl Stage {
    /// Every stage, in the order a model-route answer passes them.
    pub const ALL: [Stage; 7] = [
        Stage::Retrieve,
        Stage::Plan,
        Stage::Synthesize,
        Stage::Validate,
        Stage::Execute,
        Stage::Chart,
        Stage::Summarize,
    ];

    /// The stage's snake_case name, as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Retrieve => "retrieve",
            Stage::Plan => "plan",
            Stage::Synthesize => "synthesize",
            Stage::Validate => "validate",
            Stage::Execute => "execute",
            Stage::Chart => "chart",
            Stage::Summarize => "summarize",
        }
    }

    /// What the user is told while the stage runs.
    pub fn label(self) -> &'static str {
        match self {
            Stage::Retrieve => "finding metrics…",
            Stage::Plan => "reading the question…",
            Stage::Synthesize => "writing SQL…",
            Stage::Validate => "checking…",
            Stage::Execute => "running…",
            Stage::Chart => "charting…",
            Stage::Summarize => "summarizing…",
        }
    }
}

/// A stage as it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageEvent {
    /// Which stage.
    pub stage: Stage,
    /// The SQL attempt it belongs to on the model route (1, then 2… after repairs).
    pub attempt: Option<u32>,
}

/// Receives stage events while a question is answered. Any `Fn(StageEvent)` is one.
pub trait Progress: Send + Sync {
    /// Called as `event.stage` starts.
    fn stage(&self, event: StageEvent);
}

impl<F: Fn(StageEvent) + Send + Sync> Progress for F {
    fn stage(&self, event: StageEvent) {
        self(event)
    }
}

/// Progress nobody listens to.
pub fn silent(_: StageEvent) {}
