//! Feedback on answers.

use chrono::Utc;
use sqlx::any::AnyRow;

use crate::error::{Error, Result, db, is_foreign_key_violation};
use crate::records::{FeedbackRecord, NewFeedback, Rating};
use crate::store::{Store, column, limit, millis, new_id, returned_row, time};

impl Store {
    /// Records a user's rating of an answer. A user who rates the same answer again replaces
    /// their earlier rating and comment (the record keeps its id; its time becomes now).
    ///
    /// Fails with `not_found` when no turn has this answer id.
    pub async fn add_feedback(&self, new: &NewFeedback) -> Result<FeedbackRecord> {
        const OP: &str = "add_feedback";
        let rows = sqlx::query(
            "INSERT INTO feedback (id, answer_id, user_id, rating, comment, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (answer_id, user_id) DO UPDATE \
               SET rating = excluded.rating, comment = excluded.comment, created_at = excluded.created_at \
             RETURNING id, answer_id, user_id, rating, comment, created_at",
        )
        .bind(new_id("fb"))
        .bind(&new.answer_id)
        .bind(&new.user_id)
        .bind(new.rating.as_str())
        .bind(new.comment.as_deref())
        .bind(millis(Utc::now()))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| match is_foreign_key_violation(&e) {
            true => Error::NotFound { what: "answer", id: new.answer_id.clone() },
            false => db(OP)(e),
        })?;
        feedback_from(&returned_row(rows, "feedback", &new.answer_id)?, OP)
    }

    /// The feedback on one answer, newest first.
    pub async fn feedback_for(&self, answer_id: &str) -> Result<Vec<FeedbackRecord>> {
        let rows = sqlx::query(
            "SELECT id, answer_id, user_id, rating, comment, created_at FROM feedback \
             WHERE answer_id = $1 ORDER BY created_at DESC, id DESC",
        )
        .bind(answer_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db("feedback_for"))?;
        rows.iter().map(|row| feedback_from(row, "feedback_for")).collect()
    }

    /// The latest feedback, newest first, only ups or downs when `rating` is given.
    pub async fn list_feedback(&self, max: u32, rating: Option<Rating>) -> Result<Vec<FeedbackRecord>> {
        let rows = sqlx::query(
            "SELECT id, answer_id, user_id, rating, comment, created_at FROM feedback \
             WHERE ($1 IS NULL OR rating = $1) ORDER BY created_at DESC, id DESC LIMIT $2",
        )
        .bind(rating.map(Rating::as_str))
        .bind(limit(max))
        .fetch_all(&self.pool)
        .await
        .map_err(db("list_feedback"))?;
        rows.iter().map(|row| feedback_from(row, "list_feedback")).collect()
    }
}

fn feedback_from(row: &AnyRow, op: &'static str) -> Result<FeedbackRecord> {
    let id: String = column(row, "id", op)?;
    let rating: String = column(row, "rating", op)?;
    Ok(FeedbackRecord {
        answer_id: column(row, "answer_id", op)?,
        user_id: column(row, "user_id", op)?,
        rating: rating.parse().map_err(|reason| Error::Corrupt { what: "feedback", id: id.clone(), reason })?,
        comment: column(row, "comment", op)?,
        created_at: time(column(row, "created_at", op)?, "feedback", &id)?,
        id,
    })
}
