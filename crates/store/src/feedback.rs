//! Feedback on answers.

use chrono::Utc;
use sqlx::any::AnyRow;

use crate::error::{Error, Result, db, is_foreign_key_violation};
use crate::records::{FeedbackRecord, NewFeedback, Rating};
use crate::store::{Store, column, limit, millis, new_id, time};

impl Store {
    /// Records a user's rating of an answer. A user who rates the same answer again replaces
    /// their earlier rating and comment (the record keeps its id; its time becomes now).
    ///
    /// Only the owner of the answer's conversation, or someone giving its share's token
    /// ([`NewFeedback::share_token`]), may rate it. Fails with `not_found` when no turn has this
    /// answer id or the user may not rate it, alike, so that answer ids are not confirmed.
    pub async fn add_feedback(&self, new: &NewFeedback) -> Result<FeedbackRecord> {
        const OP: &str = "add_feedback";
        // The check and the write are one statement: nothing can change between them.
        let rows = sqlx::query(
            "INSERT INTO feedback (id, answer_id, user_id, rating, comment, created_at) \
             SELECT $1, $2, $3, $4, $5, $6 WHERE EXISTS ( \
               SELECT 1 FROM turns t JOIN conversations c ON c.id = t.conversation_id \
               WHERE t.answer_id = $2 AND (c.user_id = $3 OR EXISTS ( \
                 SELECT 1 FROM conversation_shares s WHERE s.conversation_id = c.id AND s.token = $7))) \
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
        .bind(new.share_token.as_deref())
        .fetch_all(&self.pool)
        .await
        .map_err(|e| match is_foreign_key_violation(&e) {
            true => Error::NotFound { what: "answer", id: new.answer_id.clone() },
            false => db(OP)(e),
        })?;
        match rows.first() {
            Some(row) => feedback_from(row, OP),
            None => Err(Error::NotFound { what: "answer", id: new.answer_id.clone() }),
        }
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

    /// `user_id`'s feedback on the answers of one conversation (at most one per answer), in
    /// one query: what a conversation's view shows beside its turns.
    pub async fn user_feedback_in_conversation(
        &self,
        conversation_id: &str,
        user_id: &str,
    ) -> Result<Vec<FeedbackRecord>> {
        const OP: &str = "user_feedback_in_conversation";
        let rows = sqlx::query(
            "SELECT f.id, f.answer_id, f.user_id, f.rating, f.comment, f.created_at \
             FROM feedback f JOIN turns t ON t.answer_id = f.answer_id \
             WHERE t.conversation_id = $1 AND f.user_id = $2 ORDER BY t.seq",
        )
        .bind(conversation_id)
        .bind(user_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db(OP))?;
        rows.iter().map(|row| feedback_from(row, OP)).collect()
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
