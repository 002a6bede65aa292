//! Questions answered from a verified question: SQL a person checked (promoted with `quarry
//! verified add` or by an analyst answering a review item), run through the same policy and
//! executor as any answer, and marked with who verified it and when.

use std::time::Instant;

use chrono::{DateTime, Utc};
use quarry_exec::ResultJson;
use serde::{Deserialize, Serialize};

use crate::answer::{Answer, Conversation, Turn};
use crate::error::Result;
use crate::pipeline::{MAX_QUESTION_CHARS, Pipeline, clean_question, ms};
use quarry_synth::Attempt;

/// A verified question that matched the question asked, with its SQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedMatch {
    /// The verified question's id.
    pub id: String,
    /// The question as it was verified.
    pub question: String,
    /// The SQL that answers it.
    pub sql: String,
    /// Who verified it.
    pub verified_by: String,
    /// When its SQL was last set.
    pub verified_at: DateTime<Utc>,
}

/// Where an answer from a verified question came from: shown as "verified by … on …".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VerifiedBadge {
    /// The verified question's id.
    pub id: String,
    /// The question as it was verified.
    pub question: String,
    /// Who verified it.
    pub by: String,
    /// When its SQL was last set.
    pub at: DateTime<Utc>,
}

impl Pipeline {
    /// Answers `question` with the SQL of the verified question it matched, continuing
    /// `conversation`. The SQL goes through the policy and the executor like any other; the
    /// answer has [`Answer::verified`] set and the route `verified`.
    pub async fn answer_verified(
        &self,
        question: &str,
        verified: &VerifiedMatch,
        conversation: &mut Conversation,
    ) -> Result<Answer> {
        let started = Instant::now();
        let question = clean_question(question, MAX_QUESTION_CHARS)?;
        let run = self.run_sql(&verified.sql).await?;
        let mut answer = Answer::empty(question.clone(), run.snapshot_id);
        let json = ResultJson { columns: run.columns, rows: run.rows };
        answer.summary = crate::summary::describe_result(&json, run.truncated);
        answer.route = "verified".into();
        // A person checked this SQL for this question: the planner's doubt does not apply.
        answer.confidence = Some(1.0);
        answer.attempt_log.push(Attempt {
            by: format!("verified:{}", verified.id),
            sql: verified.sql.clone(),
            verdict: "ok".into(),
            error: None,
            prompt_hash: None,
            raw_output: None,
        });
        answer.chart = run.result.as_ref().map(|result| crate::chart::result_chart(result, &question, None, None));
        answer.sql = Some(run.sql);
        answer.sql_notes = run.sql_notes;
        answer.columns = json.columns;
        answer.rows = json.rows;
        answer.truncated = run.truncated;
        answer.result = run.result;
        answer.verified = Some(VerifiedBadge {
            id: verified.id.clone(),
            question: verified.question.clone(),
            by: verified.verified_by.clone(),
            at: verified.verified_at,
        });
        let mut timings = run.timings_ms;
        timings.insert("total".into(), ms(started));
        answer.timings_ms = timings;
        conversation.turns.push(Turn {
            question,
            query: None,
            sql: answer.sql.clone(),
            summary: answer.summary.clone(),
        });
        Ok(answer)
    }
}
