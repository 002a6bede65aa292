//! A scripted test double of the pipeline, shared by the runner and report tests.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use quarry_eval::{Cell, EvalTarget, Outcome, Prediction, ResultTable, TargetError, TokenUsage};

/// A one-column table of integers.
pub fn ints(column: &str, values: &[i64]) -> ResultTable {
    ResultTable::new(vec![column.to_string()], values.iter().map(|v| vec![Cell::Int(*v)]).collect())
}

/// Rows of (text, integer).
pub fn pairs(columns: [&str; 2], rows: &[(&str, i64)]) -> ResultTable {
    ResultTable::new(
        columns.iter().map(|c| c.to_string()).collect(),
        rows.iter().map(|(t, v)| vec![Cell::Text(t.to_string()), Cell::Int(*v)]).collect(),
    )
}

/// What the double knows: answers by question, results by SQL. A question whose answer is
/// registered under `"<previous question> >> <question>"` is a follow-up: it is answered only
/// when the session's previous question is the one named, which checks that turns share a
/// session and run in order.
#[derive(Default)]
pub struct ScriptedTarget {
    pub answers: HashMap<String, Prediction>,
    pub tables: HashMap<String, Outcome>,
    pub refused_snapshots: Vec<String>,
    pub delay: Duration,
    pub in_flight: AtomicUsize,
    pub max_in_flight: AtomicUsize,
    pub sessions: AtomicUsize,
    pub asked: Mutex<Vec<String>>,
}

pub struct Session {
    pub snapshot: Option<String>,
    pub history: Vec<String>,
}

impl ScriptedTarget {
    pub fn answer(mut self, question: &str, prediction: Prediction) -> Self {
        self.answers.insert(question.to_string(), prediction);
        self
    }

    pub fn table(mut self, sql: &str, outcome: Outcome) -> Self {
        self.tables.insert(sql.to_string(), outcome);
        self
    }

    async fn busy(&self) {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A prediction with the costs and stage timings reports show.
pub fn costed(outcome: Outcome, sql: &str, route: &str) -> Prediction {
    let mut p = Prediction::new(outcome).with_sql(sql).with_route(route);
    p.confidence = Some(0.9);
    p.attempts = 1;
    p.stage_ms = BTreeMap::from([("generate".to_string(), 20.0), ("execute".to_string(), 5.0)]);
    p.tokens = TokenUsage { prompt: 100, completion: 20 };
    p.cost_usd = 0.001;
    p
}

#[async_trait::async_trait]
impl EvalTarget for ScriptedTarget {
    type Session = Session;

    async fn new_session(&self, snapshot: Option<&str>) -> Result<Session, TargetError> {
        if let Some(s) = snapshot.filter(|s| self.refused_snapshots.iter().any(|r| r == s)) {
            return Err(TargetError::new(format!("no snapshot matches '{s}'")));
        }
        self.sessions.fetch_add(1, Ordering::SeqCst);
        Ok(Session { snapshot: snapshot.map(str::to_string), history: Vec::new() })
    }

    async fn ask(&self, session: &mut Session, question: &str) -> Prediction {
        self.busy().await;
        self.asked.lock().unwrap().push(question.to_string());
        let follow_up = session.history.last().map(|previous| format!("{previous} >> {question}"));
        session.history.push(question.to_string());
        if let Some(p) = follow_up.and_then(|key| self.answers.get(&key)) {
            return p.clone();
        }
        match self.answers.get(question) {
            Some(p) => p.clone(),
            None => Prediction::new(Outcome::GenerationFailed(format!("no script for '{question}'"))),
        }
    }

    async fn run_sql(&self, _snapshot: Option<&str>, sql: &str) -> Prediction {
        self.busy().await;
        let outcome =
            self.tables.get(sql).cloned().unwrap_or_else(|| Outcome::ExecutionError(format!("unknown SQL: {sql}")));
        Prediction::new(outcome).with_sql(sql).with_route("sql")
    }
}
