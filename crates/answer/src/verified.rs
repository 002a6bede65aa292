//! Questions answered from a verified question: SQL a person checked (promoted with `quarry
//! verified add` or by an analyst answering a review item), run through the same policy and
//! executor as any answer, and marked with who verified it and when.

use std::time::Instant;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::answer::{Answer, Conversation, Timings};
use crate::error::Result;
use crate::pipeline::{MAX_QUESTION_CHARS, Pipeline, clean_question, ms, record_turn};
use quarry_synth::{Attempt, Candidate, CandidateReading};

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
        let (_, requested_chart) = quarry_chart::requested_chart_type(&question);
        let progress = &quarry_synth::silent;
        let ran = self.run_candidate(verified.sql.clone(), progress).await?;
        let by = format!("verified:{}", verified.id);
        let candidate = Candidate {
            sql: verified.sql.clone(),
            by: by.clone(),
            reading: CandidateReading::Verified {
                explanation: format!("verified by {} for \"{}\"", verified.verified_by, verified.question),
            },
            // A person checked this SQL for this question: the planner's doubt does not apply.
            confidence: Some(1.0),
            chart: None,
            prompt_hash: None,
            raw_output: None,
            tokens: None,
        };
        let mut answer = Answer::empty(question.clone(), self.snapshot().manifest.id.clone());
        answer.route = "verified".into();
        answer.attempt_log.push(Attempt {
            by,
            sql: verified.sql.clone(),
            verdict: "ok".into(),
            error: None,
            prompt_hash: None,
            raw_output: None,
        });
        answer.verified = Some(VerifiedBadge {
            id: verified.id.clone(),
            question: verified.question.clone(),
            by: verified.verified_by.clone(),
            at: verified.verified_at,
        });
        // The same tail as every other answer: summarized, charted, filled in one place.
        let mut timings = Timings::new();
        self.fill_ran(&mut answer, candidate, ran, requested_chart, None, &mut timings, progress).await;
        timings.insert("total".into(), ms(started));
        answer.timings_ms = timings;
        record_turn(conversation, question, &answer);
        Ok(answer)
    }
}
