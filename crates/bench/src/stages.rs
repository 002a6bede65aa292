//! Latency per stage over the labeled question set: the built-in route (with retrieval
//! measured as the model route runs it), the answer cache, and the model route against a
//! model that answers at once.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use quarry_answer::{Answer, Conversation, Pipeline};
use quarry_chart::{Format, Size};
use quarry_eval::Case;
use quarry_retrieve::LazyIndex;
use serde::Serialize;

use quarry_load::stats::{Latencies, LatencySummary};

use crate::stats::{record_ms, summary};

/// The stages of the built-in route, in the order they run, as reported.
pub const BUILTIN_STAGES: [&str; 8] =
    ["retrieve", "plan", "validate", "execute", "chart spec", "render svg", "render png", "total"];

/// The stages of the model route, as reported.
pub const MODEL_STAGES: [&str; 6] = ["retrieve", "synthesize", "check + execute", "summarize", "total", "overhead"];

/// Percentiles per stage, in [`BUILTIN_STAGES`] or [`MODEL_STAGES`] order.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StageReport {
    /// Stage name → its percentiles.
    pub stages: BTreeMap<String, LatencySummary>,
    /// Questions that ended in an error (with the error), over all repetitions.
    pub errors: Vec<String>,
    /// Answers measured.
    pub answers: u64,
}

#[derive(Default)]
struct Collector {
    stages: HashMap<&'static str, Latencies>,
    errors: Vec<String>,
    answers: u64,
}

impl Collector {
    fn add(&mut self, stage: &'static str, ms: f64) {
        record_ms(self.stages.entry(stage).or_default(), ms);
    }

    fn finish(self) -> StageReport {
        StageReport {
            stages: self.stages.iter().filter_map(|(name, l)| Some((name.to_string(), summary(l)?))).collect(),
            errors: self.errors,
            answers: self.answers,
        }
    }
}

/// Asks every case in order (follow-ups continue their conversation), `repetitions` times
/// after one warm-up pass, calling `measure` with each answer or error.
async fn replay<F>(pipeline: &Pipeline, cases: &[Case], repetitions: usize, mut measure: F)
where
    F: FnMut(&Case, Result<&Answer, &quarry_answer::Error>, f64, bool),
{
    for pass in 0..=repetitions {
        let mut conversations: HashMap<String, Conversation> = HashMap::new();
        for case in cases {
            let key = case.conversation.clone().unwrap_or_else(|| format!("single:{}", case.id));
            let conversation = conversations.entry(key).or_default();
            let started = Instant::now();
            let outcome = pipeline.ask(&case.question, conversation).await;
            let wall_ms = started.elapsed().as_secs_f64() * 1e3;
            measure(case, outcome.as_ref(), wall_ms, pass > 0);
        }
    }
}

/// The built-in route's stages; `index` gives the retrieval stage (which the built-in route
/// itself does not need, but the model route runs first).
pub async fn builtin_stages(pipeline: &Pipeline, index: &LazyIndex, cases: &[Case], repetitions: usize) -> StageReport {
    let mut collector = Collector::default();
    let mut answers: Vec<Answer> = Vec::new();
    replay(pipeline, cases, repetitions, |case, outcome, _wall_ms, measured| {
        if !measured {
            return;
        }
        match outcome {
            Ok(answer) => {
                collector.answers += 1;
                for (stage, name) in
                    [("plan", "plan"), ("validate", "validate"), ("execute", "execute"), ("chart", "chart spec")]
                {
                    if let Some(ms) = answer.timings_ms.get(stage) {
                        collector.add(name, *ms);
                    }
                }
                answers.push(answer.clone());
            }
            Err(error) => collector.errors.push(format!("{}: {error}", case.id)),
        }
    })
    .await;
    // Rendering and retrieval are timed apart from the replay: the pipeline leaves the
    // picture to the caller (the server renders after answering), and the built-in route
    // does not search.
    let mut render_totals: HashMap<usize, f64> = HashMap::new();
    for (i, answer) in answers.iter().enumerate() {
        let Some(chart) = &answer.chart else { continue };
        for (format, size, name) in [(Format::Svg, Size::WEB, "render svg"), (Format::Png, Size::SLACK, "render png")] {
            let started = Instant::now();
            if let Ok(Some(_)) = chart.render(format, size) {
                let ms = started.elapsed().as_secs_f64() * 1e3;
                collector.add(name, ms);
                if format == Format::Svg {
                    render_totals.insert(i, ms);
                }
            }
        }
    }
    for case in cases.iter().cycle().take(cases.len() * repetitions.max(1)) {
        let started = Instant::now();
        if index.search(&case.question, &[], 24).await.is_ok() {
            collector.add("retrieve", started.elapsed().as_secs_f64() * 1e3);
        }
    }
    // What a web user waits for: the answer and its SVG.
    let mut totals = Latencies::default();
    for (i, answer) in answers.iter().enumerate() {
        let total = answer.timings_ms.get("total").copied().unwrap_or_default();
        record_ms(&mut totals, total + render_totals.get(&i).copied().unwrap_or_default());
    }
    collector.stages.insert("total", totals);
    collector.finish()
}

/// A repeated question: every case asked once to fill the cache, then again from it.
pub async fn cache_hits(pipeline: &Pipeline, cases: &[Case], repetitions: usize) -> StageReport {
    let mut collector = Collector::default();
    replay(pipeline, cases, repetitions, |case, outcome, wall_ms, measured| match outcome {
        Ok(answer) if measured && answer.cached => {
            collector.answers += 1;
            collector.add("total", wall_ms);
        }
        Ok(_) if measured => collector.errors.push(format!("{}: not answered from the cache", case.id)),
        Ok(_) => {}
        Err(error) => collector.errors.push(format!("{}: {error}", case.id)),
    })
    .await;
    collector.finish()
}

/// The model route against a model that answers at once (see
/// [`crate::instant_model::InstantModel`]): what the route costs on its own.
pub async fn model_stages(pipeline: &Pipeline, cases: &[Case], repetitions: usize) -> StageReport {
    let mut collector = Collector::default();
    replay(pipeline, cases, repetitions, |case, outcome, wall_ms, measured| {
        if !measured {
            return;
        }
        match outcome {
            Ok(answer) => {
                collector.answers += 1;
                let stage = |name: &str| answer.timings_ms.get(name).copied().unwrap_or_default();
                let (retrieve, synthesize, summarize) = (stage("retrieve"), stage("synthesize"), stage("summarize"));
                let engine = answer.result.as_ref().map_or(0.0, |r| r.timings.plan_ms + r.timings.execute_ms);
                collector.add("retrieve", retrieve);
                collector.add("synthesize", synthesize);
                collector.add("check + execute", (stage("total") - retrieve - synthesize - summarize).max(0.0));
                collector.add("summarize", summarize);
                collector.add("total", wall_ms);
                collector.add("overhead", (wall_ms - engine).max(0.0));
            }
            Err(error) => collector.errors.push(format!("{}: {error}", case.id)),
        }
    })
    .await;
    collector.finish()
}
